import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { unmount } from "../../runtime-container/src/storage/s3fs.ts";
import { processesMatching } from "./harness.ts";

// An S3-compatible server on loopback (s3rver, objects kept in a temp directory) standing in for R2, with the
// helpers the storage tests need: list and read objects over plain HTTP, find s3fs processes, force unmounts.

type S3rverInstance = {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer?: { closeAllConnections(): void };
};
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
type Accounts = { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };

const require = createRequire(import.meta.url);
const S3rver = require("s3rver") as S3rverClass;
const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account.js") as Accounts;

export interface Bucket {
  name: string;
  endpoint: string;
  accessKeyId: string;
  /** Unique per run, so a test can search sandbox-visible places for it. */
  secretAccessKey: string;
  /** An outage: the server stops answering; `start` brings it back on the same port with the same objects. */
  stop(): Promise<void>;
  start(): Promise<void>;
  keys(prefix: string): Promise<string[]>;
  object(key: string): Promise<string | null>;
  remove(): Promise<void>;
}

export async function startBucket(name: string): Promise<Bucket> {
  const directory = await mkdtemp(path.join(os.tmpdir(), "threadbox-s3-"));
  const accessKeyId = `tbx${randomBytes(6).toString("hex")}`;
  const secretAccessKey = `secret-${randomBytes(16).toString("hex")}`;
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  let port = 0;
  let server: S3rverInstance | null = null;
  const start = async () => {
    server = new S3rver({ address: "127.0.0.1", port, silent: true, directory, configureBuckets: [{ name }] });
    port = (await server.run()).port;
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket: Bucket = {
    name,
    endpoint,
    accessKeyId,
    secretAccessKey,
    start,
    async stop() {
      // An outage at once: close() alone waits for s3fs's keep-alive connections to go idle (a minute, seen in CI),
      // while the storage it stands for keeps answering.
      const closing = server?.close();
      server?.httpServer?.closeAllConnections();
      await closing;
      server = null;
    },
    async keys(prefix) {
      const res = await fetch(`${endpoint}/${name}?prefix=${encodeURIComponent(prefix)}&max-keys=1000`);
      if (!res.ok) throw new Error(`ListObjects: ${res.status} ${await res.text()}`);
      return [...(await res.text()).matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] ?? "");
    },
    async object(key) {
      const res = await fetch(`${endpoint}/${name}/${key.split("/").map(encodeURIComponent).join("/")}`);
      return res.ok ? res.text() : null;
    },
    async remove() {
      await bucket.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
  return bucket;
}

/** Pids of the s3fs processes serving `mountDir`. */
export async function s3fsPids(mountDir: string): Promise<number[]> {
  const found = await processesMatching(mountDir);
  return found.filter((line) => /^\d+: \S*s3fs /.test(line)).map((line) => Number(line.split(":")[0]));
}

/** Detaches whatever is mounted at `dir`, dead or alive, so a failed run leaves no stale mount or s3fs behind. */
export async function forceUnmount(dir: string): Promise<void> {
  await unmount(dir).catch(() => undefined);
}

export interface BucketFixture {
  bucket: Bucket;
  /** A temp directory (0711, so sandbox uids can traverse it) for the runtime's data and the mount point. */
  root: string;
  mountDir: string;
  /** The runtime's variables for STORAGE_MODE=mount on this bucket, at this mount point. */
  env(): Record<string, string>;
}

/**
 * One bucket and mount point for a test file, set up before its tests and removed after them, mount included, even
 * when a test failed. Hooks run as a stack: the file's own afterAll (stopping its runtimes) runs before this one.
 */
export function bucketFixture(name: string): BucketFixture {
  let bucket: Bucket | undefined;
  let root = "";
  const fixture: BucketFixture = {
    get bucket() {
      if (!bucket) throw new Error("the bucket starts in beforeAll");
      return bucket;
    },
    get root() {
      return root;
    },
    get mountDir() {
      return path.join(root, "mnt", name);
    },
    env: () => ({
      STORAGE_MODE: "mount",
      R2_BUCKET: name,
      R2_ENDPOINT: fixture.bucket.endpoint,
      R2_ACCESS_KEY_ID: fixture.bucket.accessKeyId,
      R2_SECRET_ACCESS_KEY: fixture.bucket.secretAccessKey,
      STORAGE_MOUNT_DIR: fixture.mountDir,
    }),
  };
  beforeAll(async () => {
    bucket = await startBucket(name);
    root = await mkdtemp(path.join(os.tmpdir(), `threadbox-${name}-`));
    await chmod(root, 0o711);
  });
  afterAll(async () => {
    if (root) await forceUnmount(fixture.mountDir);
    await bucket?.remove();
    if (root) await rm(root, { recursive: true, force: true });
  });
  return fixture;
}
