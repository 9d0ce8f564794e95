import type { ExecutionKind, KindRequest, ResultPayload } from "../../../shared/src/index.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { Services } from "../services.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import type { ExecutionContext } from "./registry.ts";

/** One call of a kind, validated against the kinds table (shared/src/execution-kinds.ts). */
export interface KindCall<K extends ExecutionKind> {
  loc: WorkspaceLocation;
  req: KindRequest<K>;
  /** The kind's path parameters (a cell's context id). */
  params: Record<string, string>;
}

/** What a run gets besides its execution: the runner, and the variables of its screenshot session (if any). */
export interface RunEnv {
  run: GuestRunner;
  env: Record<string, string>;
}

/** The execution's work, started once the call is accepted. */
export type Work = (ctx: ExecutionContext, with_: RunEnv) => Promise<ResultPayload>;

/**
 * What the runtime does for one kind. It runs before the execution exists, so what it throws is the HTTP answer
 * (a 400 for a bad option, 409 for a busy context, 507 over the disk quota), and returns the work.
 */
export type KindHandler<K extends ExecutionKind> = (s: Services, call: KindCall<K>) => Work | Promise<Work>;

/** The timeout a call may have on this runtime. */
export const timeoutS = (s: Services, requested: number): number => Math.min(requested, s.config.MAX_TIMEOUT_S);

/**
 * Work in the thread's workspace: admitted by the disk quota now (507 before anything starts), the workspace set up
 * (or verified) when the execution starts.
 */
export async function inWorkspace(
  s: Services,
  loc: WorkspaceLocation,
  refused: string,
  work: (ws: ReadyWorkspace, ctx: ExecutionContext, with_: RunEnv) => Promise<ResultPayload>,
): Promise<Work> {
  await s.quota.admit(loc, refused);
  return async (ctx, with_) => work(await ensureReporting(s, loc, ctx), ctx, with_);
}

/**
 * The workspace, set up or verified. A venv the idle reaper removed is rebuilt from the manifest here: the call is
 * slower, and its `install` events say why (the same packages come back; nothing else changes for the user).
 */
async function ensureReporting(s: Services, loc: WorkspaceLocation, ctx: ExecutionContext): Promise<ReadyWorkspace> {
  const packages = await s.workspaces.pendingRebuild(loc);
  if (packages === null) return s.workspaces.ensure(loc);
  const what = packages.length > 0 ? `reinstalling ${packages.join(" ")} from pyproject.toml` : "no packages to reinstall";
  ctx.emit({ type: "install", phase: "start", packages, message: `rebuilding the thread's venv (removed while the thread was idle): ${what}` });
  const ready = await s.workspaces.ensure(loc);
  ctx.emit({ type: "install", phase: "done", packages, message: "venv rebuilt from the manifest" });
  return ready;
}
