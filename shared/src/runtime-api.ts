import { type ThreadRef, runtimeThreadPath } from "./thread-ref.ts";

/** The runtime's internal HTTP API, as the worker calls it. Every request is HMAC-signed (see hmac.ts). */
export const SIGNATURE_HEADER = "x-threadbox-signature";
export const TIMESTAMP_HEADER = "x-threadbox-timestamp";
/** Random per request and signed: the runtime accepts each nonce once, so a captured request cannot be replayed. */
export const NONCE_HEADER = "x-threadbox-nonce";
/** The worker chooses execution ids so it can cancel and resume them; the runtime makes one when absent. */
export const EXECUTION_ID_HEADER = "x-threadbox-execution-id";
/**
 * The runtime a request is meant for (its entry in the worker's RUNTIME_URL), signed: a runtime with RUNTIME_ID set
 * refuses requests signed for another, so a request captured on its way to one runtime cannot be replayed at another
 * that shares the HMAC secret (each runtime's replay cache only knows its own nonces).
 */
export const RUNTIME_HEADER = "x-threadbox-runtime";
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * Lowercase hex SHA-256 of the request body ("" hashes to e3b0…b855), signed instead of the body itself: the runtime
 * checks the signature before it reads any body, then hashes the body as it reads it and refuses one that differs.
 */
export const CONTENT_SHA256_HEADER = "x-threadbox-content-sha256";

/**
 * The HMAC secret earlier versions shipped for local use, published in this repository: kept only so that a runtime
 * given it refuses to start (outside explicit development). `npm start` makes a random secret per checkout.
 */
export const KNOWN_BAD_DEV_SECRET = "threadbox-local-dev-secret";

/** Maximum clock skew between worker and runtime, in seconds; also how long the runtime remembers a nonce. */
export const SIGNATURE_WINDOW_SECONDS = 300;

export type StreamFormat = "json" | "sse" | "ndjson";

/** Chooses the response format from an Accept header: SSE, NDJSON, or JSON (the default). */
export function streamFormatFromAccept(accept: string | null | undefined): StreamFormat {
  const value = (accept ?? "").toLowerCase();
  if (value.includes("text/event-stream")) return "sse";
  if (value.includes("application/x-ndjson")) return "ndjson";
  return "json";
}

/** The runtime's routes other than the execution kinds' (those are `<thread path>/<kind path>`, execution-kinds.ts). */
export const runtimePaths = {
  health: () => "/health",
  thread: (ref: ThreadRef) => runtimeThreadPath(ref),
  release: (ref: ThreadRef) => `${runtimeThreadPath(ref)}/release`,
  contexts: (ref: ThreadRef, id = "") => `${runtimeThreadPath(ref)}/contexts${id ? `/${id}` : ""}`,
  processes: (ref: ThreadRef, id = "") => `${runtimeThreadPath(ref)}/processes${id ? `/${id}` : ""}`,
  files: (ref: ThreadRef, path = "") =>
    `${runtimeThreadPath(ref)}/files${path ? `/${path.split("/").map(encodeURIComponent).join("/")}` : ""}`,
  checkpoints: (ref: ThreadRef, id = "") => `${runtimeThreadPath(ref)}/checkpoints${id ? `/${id}` : ""}`,
  fork: (ref: ThreadRef) => `${runtimeThreadPath(ref)}/fork`,
  cancel: (executionId: string) => `/executions/${executionId}/cancel`,
  /** A tenant's read-only mounts (thread-less): list, one mount's files, one file. */
  mounts: (tenant: string, name = "", path = "") =>
    `/mounts/${tenant}${name ? `/${name}/files${path ? `/${path.split("/").map(encodeURIComponent).join("/")}` : ""}` : ""}`,
  /** `rest`: the request target on the sandbox's server ("/" and any query), appended as it is. */
  portProxy: (ref: ThreadRef, port: number, rest = "/") => `${runtimeThreadPath(ref)}/ports/${port}/proxy${rest.startsWith("/") ? rest : `/${rest}`}`,
  terminal: (ref: ThreadRef) => `${runtimeThreadPath(ref)}/terminal`,
} as const;

/**
 * The signed body digest of a preview URL's proxied request, whose body streams through unread: it is the preview
 * holder's bytes for the sandbox's own server, which anyone with the URL may send anyway, so it carries no authority
 * the signature must vouch for (method, target, nonce and runtime stay signed). The runtime accepts it on the proxy
 * path only; anywhere else it is a digest no body has.
 */
export const STREAMED_BODY_SHA256 = "f".repeat(64);
