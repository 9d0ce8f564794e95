import type { ExecRequest, ResultPayload } from "../../../shared/src/index.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";
import { requireWorkspaceDir, resolveGuestDir } from "../workspace/guest-path.ts";
import { type KindHandler, inWorkspace, timeoutS } from "./kind-handler.ts";
import type { ExecutionContext } from "./registry.ts";

/** The `exec` kind. */
export const execHandler: KindHandler<"exec"> = (s, { loc, req }) =>
  inWorkspace(s, loc, "the run was not started", (ws, ctx, { run }) => runExec(run, ws, req, timeoutS(s, req.timeout), ctx));

/** A shell command in the thread's sandbox: `bash -c`, no `set -e`, status and both streams always reported. */
export function runExec(run: GuestRunner, ws: ReadyWorkspace, req: ExecRequest, timeoutS: number, ctx: ExecutionContext) {
  return runArgv(run, ws, { ...req, argv: ["/bin/bash", "-c", req.command] }, timeoutS, ctx);
}

export type ArgvRequest = Omit<ExecRequest, "command" | "timeout"> & { argv: string[] };

/** Any program in the thread's sandbox, answered as an exec result. */
export async function runArgv(
  run: GuestRunner,
  ws: ReadyWorkspace,
  req: ArgvRequest,
  timeoutS: number,
  ctx: ExecutionContext,
): Promise<ResultPayload> {
  const cwd = resolveGuestDir(ws.guestRoot, req.cwd);
  await requireWorkspaceDir(ws.loc.dir, cwd, req.cwd);
  const out = await run(ws.loc, {
    argv: req.argv,
    cwd: cwd.guest,
    env: req.env,
    stdin: req.stdin,
    limits: req.limits,
    timeoutMs: timeoutS * 1000,
    signal: ctx.signal,
    onOutput: (stream, data) => ctx.emit({ type: stream, data }),
  });
  return {
    kind: "exec",
    value: {
      execution_id: ctx.executionId,
      exit_code: out.exitCode,
      signal: out.signal,
      stdout: out.stdout,
      stderr: out.stderr,
      timed_out: out.timedOut,
      canceled: out.canceled,
      truncated: out.truncated,
      ...(out.diskQuotaExceeded ? { disk_quota_exceeded: true } : {}),
      ...(out.memoryLimitExceeded ? { memory_limit_exceeded: true } : {}),
      duration_ms: Math.round(out.durationMs * 10) / 10,
    },
  };
}
