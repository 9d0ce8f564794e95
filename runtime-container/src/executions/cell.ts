import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { type KindHandler, timeoutS } from "./kind-handler.ts";

/**
 * The `cell` kind: a cell of a stateful context. The context must exist and be idle now (404 / 409 before an
 * execution exists); its interpreter has the workspace already.
 */
export const cellHandler: KindHandler<"cell"> = (s, { loc, req, params }) => {
  const context = s.contexts.get(loc, params.ctx ?? "");
  if (context.isBusy) throw new AppError(ErrorCode.CONTEXT_BUSY, `context ${context.id} is running a cell; one cell runs at a time`);
  const ms = timeoutS(s, req.timeout) * 1000;
  return async (ctx, { env }) => ({ kind: "cell", value: await context.run(ctx.executionId, req.code, ms, ctx.emit, env, ctx.signal, req.env) });
};
