import { chmod, chown, mkdir, readFile, readdir, rename, unlink, writeFile } from "node:fs/promises";
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

type Stored = { manifests: Manifest[]; bytes: number };

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

  /** Refuses (409) a thread with as many checkpoints, or stored bytes, as it may have. */
  async assertRoom(loc: WorkspaceLocation, known?: Stored): Promise<void> {
    const { manifests, bytes } = known ?? (await this.stored(loc));
    if (manifests.length >= this.limits.count) {
      const message = `thread ${loc.thread} has ${manifests.length} checkpoints, its limit: delete one first`;
      throw new AppError(ErrorCode.CHECKPOINT_LIMIT_EXCEEDED, message, { limit: "count", max_count: this.limits.count });
    }
    if (bytes >= this.limits.bytes) {
      const message = `thread ${loc.thread}'s checkpoints hold ${bytes} bytes, their limit: delete one first`;
      throw new AppError(ErrorCode.CHECKPOINT_LIMIT_EXCEEDED, message, { limit: "bytes", max_bytes: this.limits.bytes });
    }
  }

  /** Takes a checkpoint of the workspace as it is (the caller makes sure nothing of the thread runs). */
  create(loc: WorkspaceLocation, label: string | null): Promise<Checkpoint> {
    return this.lock.run(loc.key, async () => {
      const known = await this.stored(loc);
      await this.assertRoom(loc, known);
      const d = this.dirs(loc);
      for (const dir of [d.manifests, d.blobs.dir, path.join(d.root, "tmp")]) await mkdir(dir, { recursive: true, mode: 0o700 });
      try {
        const limits = { maxEntries: this.limits.files, maxBytes: this.limits.bytes, remainingBytes: this.limits.bytes - known.bytes };
        const previous = this.reuseByStat ? await this.previous(d.blobs, known.manifests.at(-1)) : undefined;
        const snap = await snapshotWorkspace(loc.dir, d.blobs, limits, previous);
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
    const { manifests, bytes } = await this.stored(loc);
    return {
      checkpoints: manifests.map(summary),
      stored_bytes: bytes,
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

  /** The newest checkpoint's files by path whose contents are stored (see snapshot.ts `Previous`). */
  private async previous(blobs: BlobDir, newest: Manifest | undefined): Promise<Previous> {
    const present = await blobs.names();
    const files = (newest?.entries ?? []).flatMap((e) => (e.type === "file" && present.has(e.hash) ? [[e.path, e] as const] : []));
    return new Map(files);
  }

  /**
   * The thread's manifests (oldest first) and the bytes of the distinct contents they name: what its blobs hold
   * (a failed attempt's are collected at once), counted from the manifests, not by a stat of every blob.
   */
  private async stored(loc: WorkspaceLocation): Promise<Stored> {
    const manifests = await Promise.all((await this.ids(loc)).map((id) => this.read(loc, id)));
    manifests.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
    const sizes = new Map<string, number>();
    for (const m of manifests) for (const e of m.entries) if (e.type === "file") sizes.set(e.hash, e.size);
    let bytes = 0;
    for (const size of sizes.values()) bytes += size;
    return { manifests, bytes };
  }

  private async ids(loc: WorkspaceLocation): Promise<string[]> {
    const names = await readdir(this.dirs(loc).manifests).catch(() => [] as string[]);
    return names.filter((n) => /^ck_[a-f0-9]{24}\.json$/.test(n)).map((n) => n.slice(0, -5));
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
