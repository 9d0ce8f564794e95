import { AppError, type ErrorCode, toAppError } from "../../../shared/src/index.ts";

/** Durable Object RPC drops custom error fields, so errors cross it as values. */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string; details?: unknown } };

export async function rpc<T>(fn: () => Promise<T> | T): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    const e = toAppError(err);
    if (e.code === "INTERNAL_ERROR") console.error(JSON.stringify({ level: "error", msg: "durable object error", error: String(err) }));
    return { ok: false, error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } };
  }
}

export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  throw new AppError(result.error.code, result.error.message, result.error.details);
}
