import { AppError, ErrorCode, MountListSchema, type ThreadMount, runtimePaths } from "../../../shared/src/index.ts";
import { workerConfig } from "../config.ts";
import { threadMounts } from "../default-mounts.ts";
import { callAnyRuntime } from "../runtime/any-runtime.ts";
import { runtimeClient } from "../runtime/client.ts";

/**
 * A new thread's mounts (its own and its tenant's DEFAULT_MOUNTS), each checked to exist first: a name the tenant
 * never defined is a 404 MOUNT_NOT_FOUND now, not a thread that silently lacks it (its set-up may happen later).
 */
export async function resolveThreadMounts(env: Env, tenant: string, own: ThreadMount[] | undefined): Promise<ThreadMount[]> {
  const config = workerConfig(env);
  const mounts = threadMounts(config.defaultMounts, tenant, own);
  if (mounts.length === 0) return [];
  const res = await callAnyRuntime(runtimeClient(env), config.runtimeUrls, `mounts/${tenant}`, { method: "GET", path: runtimePaths.mounts(tenant) }, true);
  const defined = new Set(MountListSchema.parse(await res.json()).mounts.map((m) => m.name));
  const missing = mounts.find((m) => !defined.has(m.name));
  if (missing) {
    const fromDefaults = !(own ?? []).some((m) => m.name === missing.name);
    const hint = fromDefaults ? " (it is in the deployment's DEFAULT_MOUNTS for this tenant)" : "";
    throw new AppError(ErrorCode.MOUNT_NOT_FOUND, `no mount named ${missing.name}${hint}: upload its files with PUT /v1/mounts/${missing.name}/files/<path> first`, {
      name: missing.name,
    });
  }
  return mounts;
}
