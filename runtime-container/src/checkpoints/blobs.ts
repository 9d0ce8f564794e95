import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readdir, rename, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { fsCode } from "../files/safe-open.ts";

const CHUNK = 1 << 20;

/**
 * A thread's file contents, each stored once under its SHA-256 (`blobs/<hash>`), shared by all its checkpoints. The
 * directory is root's and never inside a sandbox, so paths here are safe; what is read from the workspace arrives
 * as an fd the caller opened link-safely.
 */
export class BlobDir {
  constructor(
    readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  path(hash: string): string {
    return path.join(this.dir, hash);
  }

  async has(hash: string): Promise<boolean> {
    return lstat(this.path(hash)).then(
      (st) => st.isFile(),
      (err: unknown) => {
        if (fsCode(err) === "ENOENT") return false;
        throw err;
      },
    );
  }

  /** Every stored hash (one directory read). */
  async names(): Promise<Set<string>> {
    return new Set(await readdir(this.dir).catch(() => [] as string[]));
  }

  /**
   * Copies `src` to EOF (one read: hashed as it is written), then keeps the copy only if no blob has that hash.
   * `maxSize` (the thread's whole byte limit) bounds one file: a larger one, or one growing past it, can never fit.
   * The caller weighs `added` (0 for content stored already) against what is left.
   */
  async put(src: FileHandle, maxSize: number, what: string): Promise<{ hash: string; size: number; added: number }> {
    const tmp = path.join(this.tmpDir, `${randomBytes(12).toString("hex")}.tmp`);
    const out = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    let kept = false;
    try {
      const hash = createHash("sha256");
      const buf = Buffer.allocUnsafe(CHUNK);
      let size = 0;
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        size += bytesRead;
        if (size > maxSize) throw overBudget(what);
        hash.update(buf.subarray(0, bytesRead));
        await out.write(buf, 0, bytesRead);
      }
      await out.close();
      const hex = hash.digest("hex");
      if (await this.has(hex)) return { hash: hex, size, added: 0 };
      await rename(tmp, this.path(hex));
      kept = true;
      return { hash: hex, size, added: size };
    } finally {
      await out.close().catch(() => undefined);
      if (!kept) await unlink(tmp).catch(() => undefined);
    }
  }
}

export function overBudget(what: string): AppError {
  return new AppError(
    ErrorCode.CHECKPOINT_LIMIT_EXCEEDED,
    `the thread's checkpoints would hold more than their byte limit (at "${what}"): delete a checkpoint or files first`,
    { limit: "bytes", path: what },
  );
}
