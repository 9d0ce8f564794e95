import type { z } from "zod";
import { AppError, ErrorCode, validationError } from "./errors.ts";

/** Parses a request body's text against a schema: INVALID_JSON for bad syntax, VALIDATION_FAILED naming each field. */
export function parseJsonBody<S extends z.ZodType>(text: string, schema: S): z.infer<S> {
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
