import { ERROR_STATUS, ErrorBodySchema, type ErrorCode, REQUEST_ID_HEADER } from "../../shared/src/index.ts";

/**
 * Failures the client itself detects, beside the server's codes: the server could not be reached, a stream stayed
 * broken after every resume attempt, or an answer was not what the API promises.
 */
export type ClientErrorCode = "NETWORK_ERROR" | "STREAM_INTERRUPTED" | "INVALID_RESPONSE" | "HTTP_ERROR";

export interface ThreadboxErrorInit {
  code: ErrorCode | ClientErrorCode;
  status: number;
  message: string;
  requestId?: string | undefined;
  retryAfter?: number | undefined;
  details?: unknown;
  cause?: unknown;
}

/**
 * Every failure of a call, typed: `code` is one of the API's error codes (shared/src/errors.ts) or a client code,
 * `status` the HTTP status (0 when no answer came). User code that failed is not an error: it is a result.
 */
export class ThreadboxError extends Error {
  override readonly name = "ThreadboxError";
  readonly code: ErrorCode | ClientErrorCode;
  readonly status: number;
  readonly requestId: string | undefined;
  /** Seconds to wait before trying again, when the server said (429 Retry-After). */
  readonly retryAfter: number | undefined;
  readonly details: unknown;

  constructor(init: ThreadboxErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.retryAfter = init.retryAfter;
    this.details = init.details;
  }

  /** The error an unsuccessful answer stands for (its body is read). */
  static async fromResponse(res: Response): Promise<ThreadboxError> {
    const text = await res.text().catch(() => "");
    const headerId = res.headers.get(REQUEST_ID_HEADER) ?? undefined;
    const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = ErrorBodySchema.safeParse(json);
    if (!parsed.success) {
      // Not the API's error body: a proxy, a load balancer, or not threadbox at all.
      const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      return new ThreadboxError({
        code: "HTTP_ERROR",
        status: res.status,
        message: `HTTP ${res.status} ${res.statusText}${excerpt ? `: ${excerpt}` : ""}`,
        requestId: headerId,
        retryAfter,
      });
    }
    const { code, message, details, request_id } = parsed.data.error;
    const fromDetails = (details as { retry_after?: unknown } | undefined)?.retry_after;
    return new ThreadboxError({
      code,
      status: res.status,
      message,
      requestId: request_id ?? headerId,
      retryAfter: retryAfter ?? (typeof fromDetails === "number" ? fromDetails : undefined),
      details,
    });
  }

  /** A terminal `error` event of an execution (the platform failed, not the user's code). */
  static fromEvent(event: { code: ErrorCode; message: string; details?: unknown; execution_id: string }): ThreadboxError {
    return new ThreadboxError({
      code: event.code,
      status: ERROR_STATUS[event.code],
      message: event.message,
      details: event.details ?? { execution_id: event.execution_id },
    });
  }

  static invalidResponse(message: string, status = 0, cause?: unknown): ThreadboxError {
    return new ThreadboxError({ code: "INVALID_RESPONSE", status, message, cause });
  }
}

/** Retry-After is seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
