import { z } from "zod";
import { FileEntrySchema, MountListSchema } from "../../shared/src/index.ts";
import type { Op } from "./openapi-routes.ts";

/** The tenant's read-only mounts (routes/mounts.ts), for openapi-routes.ts. */
export const MOUNT_ROUTES: Record<string, Record<string, Op>> = {
  "/v1/mounts": {
    get: { id: "listMounts", tag: "Mounts", summary: "The tenant's mounts, each with its file count and bytes (API key only)", ok: MountListSchema, errors: ["RUNTIME_UNAVAILABLE", "STORAGE_UNAVAILABLE"] },
  },
  "/v1/mounts/{name}": {
    delete: { id: "deleteMount", tag: "Mounts", summary: "Delete a mount and all its files (API key only; threads see it empty from their next run)", ok: z.object({ name: z.string(), deleted: z.string() }), errors: ["VALIDATION_FAILED", "RUNTIME_UNAVAILABLE", "STORAGE_UNAVAILABLE", "MOUNT_NOT_FOUND"] },
  },
  "/v1/mounts/{name}/files": {
    get: { id: "listMountFiles", tag: "Mounts", summary: "Every file and directory of a mount (API key only)", ok: z.object({ name: z.string(), entries: z.array(FileEntrySchema) }), errors: ["VALIDATION_FAILED", "RUNTIME_UNAVAILABLE", "STORAGE_UNAVAILABLE", "MOUNT_NOT_FOUND"] },
  },
  "/v1/mounts/{name}/files/{path}": {
    put: {
      id: "putMountFile",
      tag: "Mounts",
      summary: "Write a file of a mount, creating the mount (API key only; threads see it from their next run)",
      bytesIn: true,
      ok: z.object({ name: z.string(), path: z.string(), size: z.number().int() }),
      status: 201,
      errors: ["VALIDATION_FAILED", "RUNTIME_UNAVAILABLE", "STORAGE_UNAVAILABLE", "INVALID_PATH", "NOT_A_FILE", "NOT_A_DIRECTORY", "PAYLOAD_TOO_LARGE"],
    },
    delete: { id: "deleteMountFile", tag: "Mounts", summary: "Delete a file or directory of a mount (API key only)", ok: z.object({ name: z.string(), deleted: z.string() }), errors: ["VALIDATION_FAILED", "RUNTIME_UNAVAILABLE", "STORAGE_UNAVAILABLE", "INVALID_PATH", "MOUNT_NOT_FOUND", "FILE_NOT_FOUND"] },
  },
};
