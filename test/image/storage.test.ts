import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunPythonResponseSchema } from "../../shared/src/index.ts";
import { expectJson } from "../e2e/helpers.ts";
import { type Bucket, startBucket } from "../runtime/bucket.ts";
import { selfTestReport } from "./container.ts";
import { type ImageStack, createThread, startImageStack } from "./image-stack.ts";

// STORAGE_MODE=mount inside the container: the runtime mounts the bucket with s3fs through /dev/fuse (the README's
// flags), here an s3rver on the host's loopback standing in for R2. A thread's files outlive the container: a new
// container (nothing of the old one's disk) on the same bucket serves them, through the same worker.

const BUCKET = "tbx-image";
let bucket: Bucket;
let stack: ImageStack;
beforeAll(async () => {
  bucket = await startBucket(BUCKET);
  stack = await startImageStack({
    env: {
      STORAGE_MODE: "mount",
      R2_BUCKET: BUCKET,
      R2_ENDPOINT: bucket.endpoint,
      R2_ACCESS_KEY_ID: bucket.accessKeyId,
      R2_SECRET_ACCESS_KEY: bucket.secretAccessKey,
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await bucket?.remove();
});

describe("the image with its workspaces on the bucket", () => {
  it("mounts the bucket in the container and keeps a thread's files across a container restart", async () => {
    const report = selfTestReport(await stack.container.logs());
    expect(report.storage).toMatchObject({ mode: "mount", ok: true, mount_dir: `/mnt/r2/${BUCKET}` });

    const thread = await createThread(stack, `kept-${randomUUID().slice(0, 8)}`);
    const bytes = randomBytes(50_000);
    await expectJson(stack.api("PUT", `/v1/threads/${thread}/files/data/blob.bin`, { raw: bytes }), 201);
    const wrote = RunPythonResponseSchema.parse(
      await expectJson(
        stack.api("POST", `/v1/threads/${thread}/run_python`, { body: { code: "open('note.txt', 'w').write('written in the sandbox\\n')\nprint('ok')" } }),
        200,
      ),
    );
    expect(wrote.metadata.stdout).toBe("ok\n");
    // On the bucket itself, under the thread's prefix.
    const keys = await bucket.keys(`threads/tenant-image/${thread}/`);
    expect(keys).toEqual(expect.arrayContaining([`threads/tenant-image/${thread}/data/blob.bin`, `threads/tenant-image/${thread}/note.txt`]));

    await stack.replace();
    expect(selfTestReport(await stack.container.logs()).storage).toMatchObject({ mode: "mount", ok: true });
    const blob = await stack.api("GET", `/v1/threads/${thread}/files/data/blob.bin`);
    expect(blob.status).toBe(200);
    expect(Buffer.from(await blob.arrayBuffer()).equals(bytes)).toBe(true);
    const read = RunPythonResponseSchema.parse(
      await expectJson(stack.api("POST", `/v1/threads/${thread}/run_python`, { body: { code: "print(open('note.txt').read(), end='')" } }), 200),
    );
    expect(read.metadata.stdout).toBe("written in the sandbox\n");
  });
});
