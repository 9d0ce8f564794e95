import { z } from "zod";

/** Thread ids: a UUID or 1–64 of [A-Za-z0-9_-]. Both fit the second pattern; it is also a safe path segment. */
export const ThreadIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "a thread id is a UUID or 1–64 characters of A-Z a-z 0-9 _ -");
export type ThreadId = z.infer<typeof ThreadIdSchema>;

/** Tenant ids come from the worker's key table, never from a client; still validated as a path segment. */
export const TenantIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "a tenant id is 1–64 characters of A-Z a-z 0-9 _ -");
export type TenantId = z.infer<typeof TenantIdSchema>;

export const ExecutionIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "an execution id is 1–64 characters of A-Z a-z 0-9 _ -");
export type ExecutionId = z.infer<typeof ExecutionIdSchema>;

/** The run_python tool names its sandbox (the thread) by UUID. */
export const SandboxIdSchema = z
  .string()
  .regex(/^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$/, "sandbox_id must be a UUID");

const hex = (chars: number) => crypto.randomUUID().replaceAll("-", "").slice(0, chars);

/** The only place execution ids are made: the worker names an execution before the runtime sees it. */
export const newExecutionId = (): string => `ex_${hex(32)}`;

/** The only place process ids are made. */
export const newProcessId = (): string => `proc_${hex(20)}`;

/** The only place context ids are made. */
export const newContextId = (): string => `ctx_${hex(20)}`;

/** The only place terminal ids are made (the thread's object records each terminal's open and close). */
export const newTerminalId = (): string => `term_${hex(20)}`;
