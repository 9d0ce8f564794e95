import { z } from "zod";

/**
 * A deployment setting that holds JSON (IMPORT_POLICY, DEFAULT_MOUNTS): empty means `empty`; otherwise it must parse
 * and match `schema`, and each problem is reported under the setting's name with its path inside the JSON.
 */
export function jsonSetting<S extends z.ZodType>(schema: S, empty: z.output<S>) {
  return (raw: string, ctx: z.RefinementCtx): z.output<S> => {
    if (raw.trim() === "") return empty;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: "custom", message: "is not JSON" });
      return z.NEVER;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: `${issue.path.join(".")}: ${issue.message}` });
    return z.NEVER;
  };
}
