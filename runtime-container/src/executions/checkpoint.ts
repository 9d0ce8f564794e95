import type { KindHandler } from "./kind-handler.ts";

/**
 * The `checkpoint` kind: queued like any execution, so it records the workspace between runs. The thread's limits
 * are checked now (409 before anything is queued on the runtime) and again under the store's lock.
 */
export const checkpointHandler: KindHandler<"checkpoint"> = async (s, { loc, req }) => {
  await s.storage.guard(() => s.checkpoints.assertRoom(loc));
  return async () => {
    await s.workspaces.ensureDirs(loc);
    const value = await s.storage.guard(() => s.checkpoints.create(loc, req.label ?? null));
    return { kind: "checkpoint", value };
  };
};
