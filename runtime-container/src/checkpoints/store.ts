import { chmod, chown, lstat, mkdir, readFile, readdir, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { AppError, type Checkpoint, type CheckpointList, ErrorCode, newCheckpointId } from "../../../shared/src/index.ts";
import { removeHostEntry } from "../files/remove-tree.ts";
import { fsCode } from "../files/safe-open.ts";
import type { WorkspaceLocation } from "../thread-location.ts";
import { KeyedLock } from "../workspace/lock.ts";
import { BlobDir } from "./blobs.ts";
import { type Manifest, ManifestSchema, summary } from "./manifest.ts";
import { buildTree } from "./materialize.ts";
import { type Previous, snapshotWorkspace } from "./snapshot.ts";
import { dropStaging, makeStaging, recover, swapIn } from "./swap.ts";

export interface CheckpointLimits {
  count: number;
  bytes: number;
  files: number;
}

/**
 * Each thread's checkpoints, next to its workspace on the same storage (the bucket mount in production):
 * `<WORKSPACES_ROOT>/<tenant>/.checkpoints/<thread>/` holds `blobs/<sha256>` (each content once, shared by its
 * checkpoints), `manifests/<id>.json` (written last: a manifest is a checkpoint) and `tmp/`. The tenant directory is
 * root's and the sandbox sees only its workspace, so nothing here is sandbox-writable. One operation per thread at a
 * time (a delete's garbage collection never runs under a checkpoint being taken or read).
 */
export class CheckpointStore {
  private readonly lock = new KeyedLock();

  constructor(
    readonly limits: CheckpointLimits,
    /** Reuse a file's hash when its stat is unchanged (local disk only: s3fs's ctime is not the kernel's). */
    private readonly reuseByStat: boolean,
  ) {}

  private dirs(loc: WorkspaceLocation) {
    const root = path.join(path.dirname(loc.dir), ".checkpoints", loc.thread);
    return { root, manifests: path.join(root, "manifests"), blobs: new BlobDir(path.join(root, "blobs"), path.join(root, "tmp")) };
  }

  /** Refuses (409) a thread with as many checkpoints, or stored bytes, as it may have: before anything is queued. */
  async assertRoom(loc: WorkspaceLocation): Promise<void> {
    const ids = await this.ids(loc);
    if (ids.length >= this.limits.count) {
      const message = `thread ${loc.thread} has ${ids.length} checkpoints, its limit: delete one first`;
      throw new AppError(ErrorCode.CHECKPOINT_LIMIT_EXCEEDED, message, { limit: "count", max_count: this.limits.count });
    }
    const stored = await this.storedBytes(loc);
    if (stored >= this.limits.bytes) {
      const message = `thread ${loc.thread}'s checkpoints hold ${stored} bytes, their limit: delete one first`;
      throw new AppError(ErrorCode.CHECKPOINT_LIMIT_EXCEEDED, message, { limit: "bytes", max_bytes: this.limits.bytes });
    }
  }

  /** Takes a checkpoint of the workspace as it is (the caller makes sure nothing of the thread runs). */
  create(loc: WorkspaceLocation, label: string | null): Promise<Checkpoint> {
    return this.lock.run(loc.key, async () => {
      await this.assertRoom(loc);
      const d = this.dirs(loc);
      for (const dir of [d.manifests, d.blobs.dir, path.join(d.root, "tmp")]) await mkdir(dir, { recursive: true, mode: 0o700 });
      const remaining = this.limits.bytes - (await this.storedBytes(loc));
      try {
        const limits = { maxEntries: this.limits.files, maxBytes: this.limits.bytes, remainingBytes: remaining };
        const snap = await snapshotWorkspace(loc.dir, d.blobs, limits, this.reuseByStat ? await this.previous(loc) : new Map());
        const manifest: Manifest = {
          version: 1,
          id: newCheckpointId(),
          label,
          created_at: new Date().toISOString(),
          size_bytes: snap.sizeBytes,
          skipped: snap.skipped.slice(0, 100),
          entries: snap.entries,
        };
        const file = path.join(d.manifests, `${manifest.id}.json`);
        await writeFile(`${file}.tmp`, JSON.stringify(manifest), { mode: 0o600 });
        await rename(`${file}.tmp`, file);
        return summary(manifest);
      } catch (err) {
        // What this attempt stored and no checkpoint refers to goes again.
        await this.collect(loc).catch(() => undefined);
        throw err;
      }
    });
  }

  async list(loc: WorkspaceLocation): Promise<CheckpointList> {
    const manifests = await Promise.all((await this.ids(loc)).map((id) => this.read(loc, id)));
    manifests.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
    return {
      checkpoints: manifests.map(summary),
      stored_bytes: await this.storedBytes(loc),
      limits: { count: this.limits.count, bytes: this.limits.bytes },
    };
  }

  /** The checkpoint's manifest; 404 CHECKPOINT_NOT_FOUND when the thread has none of that id. */
  async read(loc: WorkspaceLocation, id: string): Promise<Manifest> {
    const text = await readFile(path.join(this.dirs(loc).manifests, `${id}.json`), "utf8").catch((err: unknown) => {
      if (fsCode(err) === "ENOENT") throw new AppError(ErrorCode.CHECKPOINT_NOT_FOUND, `thread ${loc.thread} has no checkpoint ${id}`, { checkpoint: id });
      throw err;
    });
    return ManifestSchema.parse(JSON.parse(text));
  }

  /** Deletes the checkpoint, then every blob no remaining checkpoint refers to. */
  delete(loc: WorkspaceLocation, id: string): Promise<void> {
    return this.lock.run(loc.key, async () => {
      await this.read(loc, id);
      await unlink(path.join(this.dirs(loc).manifests, `${id}.json`));
      await this.collect(loc);
    });
  }

  /**
   * Puts `target`'s workspace back as `source`'s checkpoint `id` has it (a restore: the same thread; a fork: a new
   * thread of the tenant). Built aside and swapped in whole; returns the manifest.
   */
  materialize(source: WorkspaceLocation, id: string, target: WorkspaceLocation): Promise<Manifest> {
    return this.lock.run(source.key, async () => {
      const manifest = await this.read(source, id);
      await recover(target.dir);
      const staging = await makeStaging(target.dir);
      try {
        await buildTree(staging, manifest, this.dirs(source).blobs, target.owner);
        // The top becomes the workspace itself: the thread's, private (as ownership.ts makes it).
        if (target.owner) await chown(staging, target.owner.uid, target.owner.gid);
        await chmod(staging, 0o700);
        await mkdir(path.dirname(target.dir), { recursive: true, mode: 0o711 });
        await swapIn(target.dir, staging);
      } catch (err) {
        await dropStaging(staging).catch(() => undefined);
        throw err;
      }
      return manifest;
    });
  }

  /** All of the thread's checkpoints (its deletion). */
  removeAll(loc: WorkspaceLocation): Promise<void> {
    return this.lock.run(loc.key, () => removeHostEntry(path.dirname(this.dirs(loc).root), loc.thread));
  }

  /** The newest checkpoint's files by path (see snapshot.ts `Previous`). */
  private async previous(loc: WorkspaceLocation): Promise<Previous> {
    const manifests = await Promise.all((await this.ids(loc)).map((id) => this.read(loc, id)));
    const newest = manifests.sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
    const files = (newest?.entries ?? []).flatMap((e) => (e.type === "file" ? [[e.path, e] as const] : []));
    return new Map(files);
  }

  private async ids(loc: WorkspaceLocation): Promise<string[]> {
    const names = await readdir(this.dirs(loc).manifests).catch(() => [] as string[]);
    return names.filter((n) => /^ck_[a-f0-9]{24}\.json$/.test(n)).map((n) => n.slice(0, -5));
  }

  private async storedBytes(loc: WorkspaceLocation): Promise<number> {
    const dir = this.dirs(loc).blobs.dir;
    let total = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) total += (await lstat(path.join(dir, name)).catch(() => null))?.size ?? 0;
    return total;
  }

  /** Removes blobs no manifest names, and temp files (an interrupted checkpoint's). */
  private async collect(loc: WorkspaceLocation): Promise<void> {
    const d = this.dirs(loc);
    const used = new Set<string>();
    for (const id of await this.ids(loc)) {
      for (const e of (await this.read(loc, id)).entries) if (e.type === "file") used.add(e.hash);
    }
    for (const name of await readdir(d.blobs.dir).catch(() => [] as string[])) {
      if (!used.has(name)) await unlink(d.blobs.path(name)).catch(() => undefined);
    }
    const tmp = path.join(d.root, "tmp");
    for (const name of await readdir(tmp).catch(() => [] as string[])) await unlink(path.join(tmp, name)).catch(() => undefined);
    for (const name of await readdir(d.manifests).catch(() => [] as string[])) {
      if (name.endsWith(".tmp")) await unlink(path.join(d.manifests, name)).catch(() => undefined);
    }
  }
}
