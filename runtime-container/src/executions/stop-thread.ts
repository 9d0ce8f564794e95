import type { ContextManager } from "../contexts/manager.ts";
import type { ProcessManager } from "../processes/manager.ts";
import type { DisplayManager } from "../gui/displays.ts";
import type { Sandbox } from "../sandbox/create.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import type { ExecutionRegistry } from "./registry.ts";

export interface ThreadProcesses {
  executions: ExecutionRegistry;
  contexts: ContextManager;
  processes: ProcessManager;
  displays: DisplayManager;
  sandbox: Sandbox;
}

/**
 * Runs `work` (a thread's deletion) once nothing of the thread runs any more, and with nothing new let in meanwhile:
 * its executions cancelled and ended (a program ignoring SIGTERM is killed after the grace, and waited for), its
 * interpreters and its display server exited, and its uid swept. A process of the thread that lived on while the
 * runtime removed its trees could keep swapping directories for links under the removal, or write the workspace
 * back. New executions and contexts of the thread are refused (THREAD_BUSY) until `work` is done.
 */
export async function withThreadStopped<T>(p: ThreadProcesses, loc: WorkspaceLocation, work: () => Promise<T>): Promise<T> {
  p.executions.close(loc.key);
  try {
    // Interpreters first: a cell waits for its interpreter, so its execution ends when the interpreter does.
    const contexts = p.contexts.close(loc);
    await Promise.all([contexts, p.processes.close(loc), p.executions.cancelThread(loc.key), p.displays.close(loc)]);
    // An execution that was starting when the deletion began may have started the display since.
    await p.displays.close(loc);
    // The last tree of the uid to end started its sweep (what a setsid left behind): wait for it.
    await p.sandbox.settle();
    return await work();
  } finally {
    p.contexts.open(loc);
    p.processes.open(loc);
    p.executions.open(loc.key);
  }
}
