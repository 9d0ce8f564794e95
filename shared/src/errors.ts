import { z } from "zod";

/** Every error the API can answer with. Each code has exactly one HTTP status (see ERROR_STATUS). */
export const ErrorCode = {
  INVALID_JSON: "INVALID_JSON",
  VALIDATION_FAILED: "VALIDATION_FAILED",
  INVALID_PATH: "INVALID_PATH",
  /** run_jupyter: the notebook is not an nbformat 4 document (or not JSON at all). */
  INVALID_NOTEBOOK: "INVALID_NOTEBOOK",
  UNAUTHORIZED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  THREAD_NOT_FOUND: "THREAD_NOT_FOUND",
  FILE_NOT_FOUND: "FILE_NOT_FOUND",
  EXECUTION_NOT_FOUND: "EXECUTION_NOT_FOUND",
  CONTEXT_NOT_FOUND: "CONTEXT_NOT_FOUND",
  MOUNT_NOT_FOUND: "MOUNT_NOT_FOUND",
  PROCESS_NOT_FOUND: "PROCESS_NOT_FOUND",
  /** Stdin to a process that has ended (or whose stdin was closed). */
  PROCESS_NOT_RUNNING: "PROCESS_NOT_RUNNING",
  /** The thread already runs its maximum of background processes (PROCESS_MAX_PER_THREAD). */
  TOO_MANY_PROCESSES: "TOO_MANY_PROCESSES",
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  NOT_A_FILE: "NOT_A_FILE",
  NOT_A_DIRECTORY: "NOT_A_DIRECTORY",
  THREAD_EXISTS: "THREAD_EXISTS",
  CONTEXT_BUSY: "CONTEXT_BUSY",
  EXECUTION_CANCELLED: "EXECUTION_CANCELLED",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  THREAD_BUSY: "THREAD_BUSY",
  RATE_LIMITED: "RATE_LIMITED",
  INTERNAL_ERROR: "INTERNAL_ERROR",
  WORKSPACE_SETUP_FAILED: "WORKSPACE_SETUP_FAILED",
  NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
  RUNTIME_UNAVAILABLE: "RUNTIME_UNAVAILABLE",
  STORAGE_UNAVAILABLE: "STORAGE_UNAVAILABLE",
  RUNTIME_TIMEOUT: "RUNTIME_TIMEOUT",
  /** The thread holds more disk space or inodes than its quota: runs, installs and uploads wait until it frees some. */
  DISK_QUOTA_EXCEEDED: "DISK_QUOTA_EXCEEDED",
  CHECKPOINT_NOT_FOUND: "CHECKPOINT_NOT_FOUND",
  /** The thread has as many checkpoints, or as many stored bytes, as it may (or the workspace has too many files). */
  CHECKPOINT_LIMIT_EXCEEDED: "CHECKPOINT_LIMIT_EXCEEDED",
  /** A preview URL's port: nothing listens on it inside the thread's sandbox. */
  PORT_NOT_LISTENING: "PORT_NOT_LISTENING",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
export const ErrorCodeSchema = z.enum(ErrorCode);

/** Exhaustive: adding a code without a status is a type error. */
export const ERROR_STATUS = {
  INVALID_JSON: 400,
  VALIDATION_FAILED: 400,
  INVALID_PATH: 400,
  INVALID_NOTEBOOK: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  THREAD_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  EXECUTION_NOT_FOUND: 404,
  CONTEXT_NOT_FOUND: 404,
  MOUNT_NOT_FOUND: 404,
  PROCESS_NOT_FOUND: 404,
  PROCESS_NOT_RUNNING: 409,
  TOO_MANY_PROCESSES: 429,
  METHOD_NOT_ALLOWED: 405,
  NOT_A_FILE: 409,
  NOT_A_DIRECTORY: 409,
  THREAD_EXISTS: 409,
  CONTEXT_BUSY: 409,
  EXECUTION_CANCELLED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  THREAD_BUSY: 429,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  WORKSPACE_SETUP_FAILED: 500,
  NOT_IMPLEMENTED: 501,
  RUNTIME_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
  RUNTIME_TIMEOUT: 504,
  DISK_QUOTA_EXCEEDED: 507,
  CHECKPOINT_NOT_FOUND: 404,
  CHECKPOINT_LIMIT_EXCEEDED: 409,
  PORT_NOT_LISTENING: 502,
} as const satisfies Record<ErrorCode, number>;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    details: z.unknown().optional(),
    request_id: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export class AppError extends Error {
  override readonly name = "AppError";
  readonly status: ErrorStatus;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }

  toBody(requestId?: string): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
        ...(requestId === undefined ? {} : { request_id: requestId }),
      },
    };
  }
}

/** The one place an unknown thrown value becomes a typed error. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof z.ZodError) {
    return new AppError(ErrorCode.VALIDATION_FAILED, "The request does not match the schema.", err.issues);
  }
  return new AppError(ErrorCode.INTERNAL_ERROR, "Internal error.");
}

/** Turns zod's issues into a 400 naming each bad field. */
export function validationError(what: string, error: z.ZodError): AppError {
  const fields = error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
  return new AppError(ErrorCode.VALIDATION_FAILED, `Invalid ${what}: ${fields}`, error.issues);
}
