import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { readManifest } from "../python/manifest.ts";
import type { Services } from "../services.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import type { KindHandler } from "./kind-handler.ts";
import type { ExecutionContext } from "./registry.ts";

/**
 * The `restore` kind: the workspace becomes the checkpoint's tree exactly (checkpoints/store.ts `materialize`: built
 * aside, swapped in whole). The thread's contexts and display end first: their processes hold the old tree. When the
 * Python manifest (pyproject.toml) differs from the one the workspace had, the venv is rebuilt from the restored one,
 * and `install` events say so. An unknown checkpoint is a 404 now; one larger than the thread's quota a 507.
 */
export const restoreHandler: KindHandler<"restore"> = async (s, { loc, params }) => {
  const id = params.checkpoint ?? "";
  const manifest = await s.storage.guard(() => s.checkpoints.read(loc, id));
  const bytes = s.config.THREAD_DISK_MB * 2 ** 20;
  if (manifest.size_bytes > bytes || manifest.entries.length > s.config.THREAD_INODES) {
    const message = `checkpoint ${id} holds more than the thread's disk quota allows`;
    throw new AppError(ErrorCode.DISK_QUOTA_EXCEEDED, message, { size_bytes: manifest.size_bytes, quota_bytes: bytes });
  }
  return async (ctx) => {
    const before = await pythonManifest(loc);
    await Promise.all([s.contexts.close(loc), s.displays.close(loc)]).finally(() => s.contexts.open(loc));
    const restored = await s.storage.guard(() => s.checkpoints.materialize(loc, id, loc));
    s.quota.forget(loc);
    const rebuilt = (await pythonManifest(loc)) !== before;
    if (rebuilt) await rebuildVenv(s, loc, ctx);
    return { kind: "restore", value: { checkpoint: id, files: restored.entries.length, venv_rebuilt: rebuilt } };
  };
};

const pythonManifest = async (loc: WorkspaceLocation) => JSON.stringify(await readManifest(loc.dir).catch(() => null));

/** The venv made again from the restored pyproject.toml, as after the idle reaper (venv-idle.ts) removed it. */
async function rebuildVenv(s: Services, loc: WorkspaceLocation, ctx: ExecutionContext): Promise<void> {
  await s.workspaces.dropVenv(loc, () => true);
  const packages = (await s.workspaces.pendingRebuild(loc)) ?? [];
  ctx.emit({ type: "install", phase: "start", packages, message: "the restored pyproject.toml differs: rebuilding the venv from it" });
  await s.workspaces.ensure(loc);
  ctx.emit({ type: "install", phase: "done", packages, message: "venv rebuilt from the restored manifest" });
}
