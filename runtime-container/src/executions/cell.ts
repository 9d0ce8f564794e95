import { AppError, ErrorCode, PackagesRequestSchema } from "../../../shared/src/index.ts";
import type { CellInstall } from "../contexts/cell-install.ts";
import type { Services } from "../services.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { runPackages } from "./install.ts";
import { type KindHandler, timeoutS } from "./kind-handler.ts";
import type { ExecutionContext } from "./registry.ts";

/**
 * The `cell` kind: a cell of a stateful context. The context must exist and be idle now (404 / 409 before an
 * execution exists); its interpreter has the workspace already.
 */
export const cellHandler: KindHandler<"cell"> = (s, { loc, req, params }) => {
  const context = s.contexts.get(loc, params.ctx ?? "");
  if (context.isBusy) throw new AppError(ErrorCode.CONTEXT_BUSY, `context ${context.id} is running a cell; one cell runs at a time`);
  const ms = timeoutS(s, req.timeout) * 1000;
  return async (ctx, { env }) => {
    const install = cellInstall(s, loc, ctx);
    return { kind: "cell", value: await context.run(ctx.executionId, req.code, ms, ctx.emit, { env, cellEnv: req.env, signal: ctx.signal, install }) };
  };
};

/** A cell's `%pip install`: the request POST /packages takes, validated and run the same way (its events in the cell's). */
export function cellInstall(s: Services, loc: WorkspaceLocation, ctx: ExecutionContext): CellInstall {
  return async (packages, pipArgs, cellEnded) => {
    const parsed = PackagesRequestSchema.safeParse({ packages, language: "python", ...(pipArgs ? { pip_args: pipArgs } : {}) });
    if (!parsed.success) return { ok: false, message: parsed.error.issues.map((i) => `${i.path.join(".") || "request"}: ${i.message}`).join("; ") };
    await s.quota.admit(loc, "the install was not started");
    const signal = AbortSignal.any([ctx.signal, cellEnded]);
    const result = await runPackages({ ...s.python, bun: s.sandbox.bun }, await s.workspaces.ensure(loc), parsed.data, { ...ctx, signal });
    if (result.kind !== "install") return { ok: false, message: "unexpected install result" };
    const { value } = result;
    return value.ok ? { ok: true, message: `installed ${value.installed.join(" ")}` } : { ok: false, message: value.message };
  };
}
