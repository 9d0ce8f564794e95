import type { WorkspaceLocation } from "../thread-location.ts";
import type { DiskQuota } from "./disk-quota.ts";

/**
 * A file written by the runtime (as root, which ext4's reserved blocks do not stop) for the files API: refused (507)
 * when it would take the thread over its disk quota. The declared length is checked before the body is read; the
 * body itself is counted, and its room reserved, before a byte of it is written, so concurrent uploads cannot
 * together overshoot.
 */
export async function quotaUpload<T>(
  quota: DiskQuota,
  loc: WorkspaceLocation,
  path: string,
  contentLength: string | undefined,
  read: () => Promise<Uint8Array>,
  write: (data: Uint8Array) => Promise<T>,
): Promise<T> {
  const refused = (bytes: number) => `writing ${path} (${bytes} bytes) was refused`;
  const declared = Number(contentLength);
  if (Number.isSafeInteger(declared) && declared > 0) (await quota.reserve(loc, declared, refused(declared)))(false);
  const data = await read();
  const done = await quota.reserve(loc, data.byteLength, refused(data.byteLength));
  let written = false;
  try {
    const result = await write(data);
    written = true;
    return result;
  } finally {
    done(written);
  }
}
