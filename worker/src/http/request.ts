import type { Context } from "hono";
import type { z } from "zod";
import { parseJsonBody } from "../../../shared/src/index.ts";

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return parseJsonBody(await c.req.text(), schema);
}
