import type { ProcessWait, ProcessWaitResult } from "../../../shared/src/index.ts";
import type { BackgroundProcess } from "./background-process.ts";
import { treeListensOn } from "./listening.ts";

/** How often a port wait looks at the tree's sockets (there is no event for "now listening"). */
const PORT_POLL_MS = 100;
/** A line longer than this is matched on its last part only (bounded work per chunk). */
const MAX_LINE_CHARS = 8192;

/**
 * Waits for what the caller asked (a listening port, a line of output containing `log_pattern`), or for the process
 * to end, or for the timeout, whichever comes first; says which. Every timer and listener is gone when it returns.
 */
export function waitFor(proc: BackgroundProcess, req: ProcessWait, signal?: AbortSignal): Promise<ProcessWaitResult> {
  return new Promise((resolve) => {
    const cleanups: (() => void)[] = [];
    let done = false;
    const finish = (outcome: ProcessWaitResult["outcome"], line?: string) => {
      if (done) return;
      done = true;
      for (const c of cleanups) c();
      resolve({ outcome, process: proc.info(), ...(line === undefined ? {} : { line }) });
    };
    const timer = setTimeout(() => finish("timeout"), req.timeout * 1000);
    cleanups.push(() => clearTimeout(timer));
    signal?.addEventListener("abort", () => finish("timeout"), { once: true });

    if (req.log_pattern !== undefined) {
      const match = lineMatcher(req.log_pattern);
      for (const entry of proc.logs.after(-1)) {
        const line = match(entry.stream, entry.text);
        if (line !== null) return finish("log", line);
      }
      cleanups.push(
        proc.logs.subscribe((entry) => {
          const line = entry === null ? null : match(entry.stream, entry.text);
          if (line !== null) finish("log", line);
        }),
      );
    }
    if (req.port !== undefined) {
      const port = req.port;
      let next: NodeJS.Timeout | undefined;
      cleanups.push(() => clearTimeout(next));
      const poll = () => {
        const pid = proc.hostPid;
        if (pid !== undefined && treeListensOn(pid, port)) return finish("port");
        if (!done) next = setTimeout(poll, PORT_POLL_MS);
      };
      poll();
    }
    void proc.ended.then(() => finish("exited"));
  });
}

/** Feeds output text per stream; returns the first line (complete or not yet ended) that contains `pattern`. */
function lineMatcher(pattern: string): (stream: "stdout" | "stderr", text: string) => string | null {
  const partial = { stdout: "", stderr: "" };
  return (stream, text) => {
    const lines = (partial[stream] + text).split("\n");
    const last = lines[lines.length - 1] as string;
    partial[stream] = last.slice(-MAX_LINE_CHARS);
    for (const line of lines) if (line.includes(pattern)) return line.slice(-MAX_LINE_CHARS);
    return null;
  };
}
