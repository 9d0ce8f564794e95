import { z } from "zod";
import {
  AfterQuerySchema,
  ProcessInfoSchema,
  ProcessStdinSchema,
  ProcessWaitResultSchema,
  ProcessWaitSchema,
  StartProcessSchema,
} from "../../shared/src/index.ts";
import { RUNTIME, THREAD } from "./openapi-errors.ts";
import type { Op } from "./openapi-routes.ts";

const ONE = [...THREAD, "VALIDATION_FAILED", "PROCESS_NOT_FOUND", "RUNTIME_UNAVAILABLE"] as const;

/** The background process routes (routes/processes.ts), for openapi-routes.ts. */
export const PROCESS_ROUTES: Record<string, Record<string, Op>> = {
  "/v1/threads/{thread}/processes": {
    post: {
      id: "startProcess",
      tag: "Processes",
      summary: "Start a background process (a shell command in the thread's sandbox)",
      description:
        "The same sandbox, uid, limits and environment as a run, with no timeout but the runtime's lifetime cap (PROCESS_LIFETIME_S, default 24 h; " +
        'then `status: "killed", reason: "lifetime"`). At most PROCESS_MAX_PER_THREAD (default 8) run at once per thread: TOO_MANY_PROCESSES beyond.',
      body: StartProcessSchema,
      ok: ProcessInfoSchema,
      status: 201,
      errors: [...THREAD, ...RUNTIME, "TOO_MANY_PROCESSES", "DISK_QUOTA_EXCEEDED", "THREAD_BUSY"],
    },
    get: { id: "listProcesses", tag: "Processes", summary: "The thread's processes (running, ended, lost), newest first", ok: z.object({ processes: z.array(ProcessInfoSchema) }), errors: [...THREAD] },
  },
  "/v1/threads/{thread}/processes/{proc}": {
    get: { id: "getProcess", tag: "Processes", summary: "One process (status, exit code, reason)", ok: ProcessInfoSchema, errors: [...ONE] },
    delete: { id: "stopProcess", tag: "Processes", summary: "Stop the process's whole tree (TERM, grace, KILL)", ok: ProcessInfoSchema, errors: [...ONE] },
  },
  "/v1/threads/{thread}/processes/{proc}/logs": {
    get: {
      id: "processLogs",
      tag: "Processes",
      summary: "Its output after ?after=SEQ (the retained tail first), then live until it ends",
      query: { after: { schema: AfterQuerySchema.shape.after, description: "Only entries with a greater seq (-1: all kept)" } },
      ok: "process-logs",
      errors: [...ONE],
    },
  },
  "/v1/threads/{thread}/processes/{proc}/stdin": {
    post: { id: "processStdin", tag: "Processes", summary: "Write to its stdin (eof: close it)", body: ProcessStdinSchema, ok: z.object({ id: z.string(), written: z.number().int() }), errors: [...ONE, "PROCESS_NOT_RUNNING", "PAYLOAD_TOO_LARGE"] },
  },
  "/v1/threads/{thread}/processes/{proc}/wait": {
    post: {
      id: "waitProcess",
      tag: "Processes",
      summary: "Wait until it listens on a port, prints a line containing log_pattern, or ends; or the timeout",
      body: ProcessWaitSchema,
      ok: ProcessWaitResultSchema,
      errors: [...ONE],
    },
  },
};
