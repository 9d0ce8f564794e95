import {
  AppError,
  ErrorBodySchema,
  ErrorCode,
  RUNTIME_HEADER,
  STREAMED_BODY_SHA256,
  requestTarget,
  signRequest,
  targetUrl,
} from "../../../shared/src/index.ts";
import { workerConfig } from "../config.ts";

export interface RuntimeCall {
  method: string;
  path: string;
  body?: Uint8Array | string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Signs every request to a runtime with the shared HMAC secret. A runtime that cannot be reached is
 * RUNTIME_UNAVAILABLE; its own typed errors (validation, missing file, ...) pass through. A refused signature is
 * INTERNAL_ERROR: the runtime answered, so it is up, and a mismatch is this deployment's bug (secrets or clocks that
 * differ, a target signed otherwise than sent), never a reason to mark the runtime down or to send the call elsewhere.
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
    const bodyless = req.method === "GET" || req.method === "HEAD";
    const body = bodyless ? undefined : typeof req.body === "string" ? new TextEncoder().encode(req.body) : (req.body ?? new Uint8Array());
    // Signed per attempt (a fresh nonce each time), covering the execution id header when there is one, and naming
    // the runtime it is for (its RUNTIME_URL entry), which a runtime with RUNTIME_ID checks.
    const headers = { ...req.headers, [RUNTIME_HEADER]: base };
    // One encoding of path and query for both: what is signed is exactly what fetch puts on the wire.
    const path = requestTarget(req.path);
    const signed = await signRequest(this.secret, { method: req.method, path, body, headers });
    const target = this.fetcher(base);
    let res: Response;
    try {
      res = await target.fetch(targetUrl(target.origin, path), {
        method: req.method,
        headers: { "content-type": "application/json", ...headers, ...signed },
        body,
        signal: req.signal,
      });
    } catch (err) {
      throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `the runtime at ${base} is unreachable: ${String(err)}`);
    }
    if (!res.ok) throw await runtimeError(base, res, `${req.method} ${path}`);
    return res;
  }

  /**
   * A request whose answer passes through as it comes, whatever its status (a preview URL's request, a terminal's
   * upgrade): a body streams unread, signed as STREAMED_BODY_SHA256 (the runtime accepts that on its proxy path
   * only). Unreachable is RUNTIME_UNAVAILABLE; everything else, the runtime's errors too, is the answer.
   */
  async open(base: string, req: { method: string; path: string; headers: Headers; body: ReadableStream | null }): Promise<Response> {
    const headers: Record<string, string> = { ...Object.fromEntries(req.headers), [RUNTIME_HEADER]: base };
    const path = requestTarget(req.path);
    const signed = await signRequest(this.secret, {
      method: req.method,
      path,
      ...(req.body ? { contentSha256: STREAMED_BODY_SHA256 } : { body: "" }),
      headers,
    });
    const target = this.fetcher(base);
    try {
      return await target.fetch(targetUrl(target.origin, path), { method: req.method, headers: { ...headers, ...signed }, body: req.body });
    } catch (err) {
      throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `the runtime at ${base} is unreachable: ${String(err)}`);
    }
  }

  async json<T>(base: string, req: RuntimeCall): Promise<T> {
    return (await (await this.call(base, req)).json()) as T;
  }
}

async function runtimeError(base: string, res: Response, call: string): Promise<AppError> {
  const text = await res.text().catch(() => "");
  if (res.status === 401) {
    const refusal = ErrorBodySchema.safeParse(safeJson(text));
    const why = refusal.success ? refusal.data.error.message : `HTTP 401 ${text.slice(0, 200)}`;
    const message =
      `the runtime refused the worker's signature for ${call} (${why}): a deployment bug, not an outage — ` +
      "check that HMAC_SECRET is the same on both sides and their clocks agree within 5 minutes";
    // Logged as the bug it is; the client gets the same clear message in a 500.
    console.error(JSON.stringify({ level: "error", msg: "runtime signature refused", runtime: base, call, reason: why }));
    return new AppError(ErrorCode.INTERNAL_ERROR, message);
  }
  try {
    const { error } = ErrorBodySchema.parse(JSON.parse(text));
    return new AppError(error.code, error.message, error.details);
  } catch {
    return new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `the runtime at ${base} answered ${res.status}`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The client for this deployment: the shared secret, and the container binding when there is one. */
export function runtimeClient(env: Env): RuntimeClient {
  const containers = (env as Env & { RUNTIME_CONTAINER?: DurableObjectNamespace }).RUNTIME_CONTAINER;
  return new RuntimeClient(workerConfig(env).hmacSecret, containers);
}
