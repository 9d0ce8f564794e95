import { AppError, ErrorBodySchema, ErrorCode, signRequest } from "../../../shared/src/index.ts";

export interface RuntimeCall {
  method: string;
  path: string;
  body?: Uint8Array | string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Signs every request to a runtime with the shared HMAC secret. A runtime that cannot be reached, or that refuses
 * the signature, is RUNTIME_UNAVAILABLE; its own typed errors (validation, missing file, ...) pass through.
 */
export class RuntimeClient {
  constructor(private readonly secret: string) {}

  async call(base: string, req: RuntimeCall): Promise<Response> {
    const body = typeof req.body === "string" ? new TextEncoder().encode(req.body) : (req.body ?? new Uint8Array());
    const signed = await signRequest(this.secret, { method: req.method, path: req.path, body });
    let res: Response;
    try {
      res = await fetch(base + req.path, {
        method: req.method,
        headers: { "content-type": "application/json", ...req.headers, ...signed },
        body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
        signal: req.signal,
      });
    } catch (err) {
      throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `the runtime at ${base} is unreachable: ${String(err)}`);
    }
    if (!res.ok) throw await runtimeError(base, res);
    return res;
  }

  async json<T>(base: string, req: RuntimeCall): Promise<T> {
    return (await (await this.call(base, req)).json()) as T;
  }
}

async function runtimeError(base: string, res: Response): Promise<AppError> {
  const text = await res.text().catch(() => "");
  if (res.status === 401) {
    return new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `the runtime at ${base} refused the worker's signature (HMAC_SECRET differs)`);
  }
  try {
    const { error } = ErrorBodySchema.parse(JSON.parse(text));
    return new AppError(error.code, error.message, error.details);
  } catch {
    return new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `the runtime at ${base} answered ${res.status}`);
  }
}
