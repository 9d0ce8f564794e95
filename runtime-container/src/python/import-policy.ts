import { readFileSync } from "node:fs";
import { type ImportPolicy, isOpenImportPolicy } from "../../../shared/src/index.ts";

/**
 * The import policy finder (import-policy.py): run_python loads it as a sitecustomize from the run's directory, a
 * Python context's kernel runs it after its own imports (kernel-source.ts). Either way it reads the policy from
 * THREADBOX_IMPORT_POLICY, which the runtime sets last, over the caller's environment.
 */
export const IMPORT_POLICY_SOURCE = readFileSync(new URL("./import-policy.py", import.meta.url), "utf8");

/** Where run_python writes the hook, relative to its run directory (then first on PYTHONPATH). */
export const POLICY_HOOK_DIR = "policy";

/** The variables that carry a thread's policy into its interpreter; none when it restricts nothing. */
export function importPolicyEnv(policy: ImportPolicy | null): Record<string, string> {
  if (isOpenImportPolicy(policy) || !policy) return {};
  return { THREADBOX_IMPORT_POLICY: JSON.stringify({ allow: policy.allow ?? null, deny: policy.deny ?? [] }) };
}
