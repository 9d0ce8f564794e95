import { z } from "zod";
import { type ThreadMount, ThreadMountsSchema } from "../../shared/src/index.ts";
import { jsonSetting } from "./json-setting.ts";

/**
 * DEFAULT_MOUNTS: the mounts every new thread of a tenant gets besides its own, e.g.
 * `{"tenants": {"acme": [{"name": "skills"}]}, "default": [{"name": "house-rules", "path": "/.mounts/rules"}]}`.
 * `tenants.<id>` replaces `default` for that tenant. Each must exist (PUT /v1/mounts/...) before threads are made.
 */
const DefaultMountsSchema = z.strictObject({
  default: ThreadMountsSchema.optional(),
  tenants: z.record(z.string(), ThreadMountsSchema).default({}),
});
export type DefaultMounts = z.infer<typeof DefaultMountsSchema>;

export const parseDefaultMounts = jsonSetting(DefaultMountsSchema, { tenants: {} });

/** A new thread's mounts: its own, then its tenant's defaults at paths it did not take. */
export function threadMounts(defaults: DefaultMounts, tenant: string, own: readonly ThreadMount[] = []): ThreadMount[] {
  const extra = (Object.hasOwn(defaults.tenants, tenant) ? defaults.tenants[tenant] : defaults.default) ?? [];
  const taken = new Set(own.map((m) => m.path));
  return [...own, ...extra.filter((m) => !taken.has(m.path))];
}
