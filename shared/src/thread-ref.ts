import { z } from "zod";
import { TenantIdSchema, ThreadIdSchema } from "./ids.ts";

/**
 * Who a thread is: its tenant (from the caller's credentials, never from a client) and its id. Validated once where a
 * request enters a process (the worker's routes, the runtime's router) and passed down typed; every name derived
 * from it comes from the functions below, so no two places spell them differently.
 */
export const ThreadRefSchema = z.object({ tenant: TenantIdSchema, thread: ThreadIdSchema }).readonly().brand<"ThreadRef">();
export type ThreadRef = z.infer<typeof ThreadRefSchema>;

export function threadRef(tenant: string, thread: string): ThreadRef {
  return ThreadRefSchema.parse({ tenant, thread });
}

/** The thread's Durable Object name: another tenant's thread of the same id is another object. */
export const objectName = (ref: ThreadRef): string => `${ref.tenant}:${ref.thread}`;

/** The key of the thread in maps, logs, placement (rendezvous) and the runtime's settings. */
export const threadKey = (ref: ThreadRef): string => `${ref.tenant}/${ref.thread}`;

/** The thread's prefix in the runtime's API (both ids are safe path segments). */
export const runtimeThreadPath = (ref: ThreadRef): string => `/threads/${ref.tenant}/${ref.thread}`;
