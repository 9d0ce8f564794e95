import type { Context } from "hono";
import type { z } from "zod";
import { AppError, ErrorCode, validationError } from "../../../shared/src/index.ts";

/** Parses a JSON body against a schema: INVALID_JSON for bad syntax, VALIDATION_FAILED naming each bad field. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let value: unknown;
  try {
    value = text === "" ? {} : JSON.parse(text);
  } catch (err) {
    throw new AppError(ErrorCode.INVALID_JSON, `The body is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError("request body", parsed.error);
  return parsed.data;
}
