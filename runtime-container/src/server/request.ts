import type { Context } from "hono";
import type { z } from "zod";
import { EXECUTION_ID_HEADER, ExecutionIdSchema, parseJsonBody, validationError } from "../../../shared/src/index.ts";

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return parseJsonBody(await c.req.text(), schema);
}

/** The caller-chosen execution id (the worker's), validated; undefined lets the runtime make one. */
export function executionIdHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parsed = ExecutionIdSchema.safeParse(header);
  if (!parsed.success) throw validationError(EXECUTION_ID_HEADER, parsed.error);
  return parsed.data;
}
