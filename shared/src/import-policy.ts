import { z } from "zod";

/** A Python module name, dotted for a submodule (`numpy`, `os.path`): what an import policy lists. */
export const ModuleNameSchema = z
  .string()
  .max(200)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "must be a Python module name like numpy or xml.etree");

const ModuleListSchema = z.array(ModuleNameSchema).max(500);

/**
 * Which Python modules a thread's code may import (run_python, contexts): `deny` refuses a module and its
 * submodules; with `allow`, only those (and their submodules) and the standard library import. Deny wins. Policy,
 * not security: the sandbox is the boundary.
 */
export const ImportPolicySchema = z.strictObject({ allow: ModuleListSchema.optional(), deny: ModuleListSchema.optional() });
export type ImportPolicy = z.infer<typeof ImportPolicySchema>;

const covers = (rule: string, name: string) => name === rule || name.startsWith(`${rule}.`);

/** Whether a policy restricts nothing (then no finder is installed at all). */
export function isOpenImportPolicy(policy: ImportPolicy | null | undefined): boolean {
  return !policy || (policy.allow === undefined && (policy.deny ?? []).length === 0);
}

/**
 * The policy in force when a deployment (tenant) policy and a thread's own both apply: what either denies is
 * denied; with two allow lists, only what both allow (a name in one list inside a name of the other) is allowed.
 */
export function combineImportPolicies(outer: ImportPolicy | undefined, inner: ImportPolicy | undefined): ImportPolicy | undefined {
  if (isOpenImportPolicy(outer)) return isOpenImportPolicy(inner) ? undefined : inner;
  if (isOpenImportPolicy(inner)) return outer;
  const deny = [...new Set([...(outer?.deny ?? []), ...(inner?.deny ?? [])])];
  const [a, b] = [outer?.allow, inner?.allow];
  const allow =
    a && b ? [...new Set([...a.filter((n) => b.some((r) => covers(r, n))), ...b.filter((n) => a.some((r) => covers(r, n)))])] : (a ?? b);
  return { ...(allow ? { allow } : {}), ...(deny.length ? { deny } : {}) };
}
