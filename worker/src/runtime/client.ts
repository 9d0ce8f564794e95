import { AppError, ErrorBodySchema, ErrorCode, RUNTIME_HEADER, signRequest } from "../../../shared/src/index.ts";
import { workerConfig } from "../config.ts";

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
  constructor(
    private readonly secret: string,
    /** The RuntimeContainer namespace, for `container://<name>` runtimes (Cloudflare Containers). */
    private readonly containers?: DurableObjectNamespace,
  ) {}

  /** `http(s)://host:port` is fetched directly; `container://name` through that container's Durable Object. */
  private fetcher(base: string): { fetch: typeof fetch; origin: string } {
    if (!base.startsWith("container://")) return { fetch: (input, init) => fetch(input, init), origin: base };
    if (!this.containers) throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `${base} needs the RUNTIME_CONTAINER binding`);
    const stub = this.containers.get(this.containers.idFromName(base.slice("container://".length)));
    return { fetch: (input, init) => stub.fetch(new Request(input, init)), origin: "http://runtime" };
  }

  async call(base: string, req: RuntimeCall): Promise<Response> {
    const body = typeof req.body === "string" ? new TextEncoder().encode(req.body) : (req.body ?? new Uint8Array());
    // Signed per attempt (a fresh nonce each time), covering the execution id header when there is one, and naming
    // the runtime it is for (its RUNTIME_URL entry), which a runtime with RUNTIME_ID checks.
    const headers = { ...req.headers, [RUNTIME_HEADER]: base };
    const signed = await signRequest(this.secret, { method: req.method, path: req.path, body, headers });
    const target = this.fetcher(base);
    let res: Response;
    try {
      res = await target.fetch(target.origin + req.path, {
        method: req.method,
        headers: { "content-type": "application/json", ...headers, ...signed },
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
    return new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `the runtime at ${base} refused the worker's signature (HMAC_SECRET differs, the clocks differ by more than 5 minutes, or the request was a replay)`);
  }
  try {
    const { error } = ErrorBodySchema.parse(JSON.parse(text));
    return new AppError(error.code, error.message, error.details);
  } catch {
    return new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `the runtime at ${base} answered ${res.status}`);
  }
}

/** The client for this deployment: the shared secret, and the container binding when there is one. */
export function runtimeClient(env: Env): RuntimeClient {
  const containers = (env as Env & { RUNTIME_CONTAINER?: DurableObjectNamespace }).RUNTIME_CONTAINER;
  return new RuntimeClient(workerConfig(env).hmacSecret, containers);
}
