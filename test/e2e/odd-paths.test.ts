import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FileList, ThreadStateSchema } from "../../shared/src/index.ts";
import { createThread, expectJson, uniqueId } from "./helpers.ts";
import { type Stack, startStack } from "./stack.ts";

// Every odd character in file paths and queries, through the real worker (workerd's fetch) to the real runtime
// (which verifies the signature over the target as it parsed it). Before one encoder served signer and sender, a
// query the two spelled differently (`?recursive='`) was refused as a forgery and answered 503 RUNTIME_UNAVAILABLE.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Every printable ASCII character but `/` and `\` (refused in names), a space, non-ASCII, look-alike escapes. */
const ODD = [..."!\"#$%&'()*+,-.:;<=>?@[]^_`{|}~ "].concat(["é", "日本", "😀", "%25", "%2F", "a%zz", "\u007f"]);

const fileUrl = (thread: string, dir: string, name: string) =>
  `/v1/threads/${thread}/files/${encodeURIComponent(dir)}/${encodeURIComponent(name)}`;

describe("odd characters end to end", () => {
  it("writes, reads, lists and deletes files named with every odd character", async () => {
    const thread = await createThread(stack, uniqueId("odd"));
    for (const ch of ODD) {
      const [dir, name] = [`d ${ch}`, `a${ch}b`];
      const put = await expectJson<{ path: string }>(stack.api("PUT", fileUrl(thread, dir, name), { raw: `content ${ch}` }), 201);
      expect(put.path).toBe(`${dir}/${name}`);
      const got = await stack.api("GET", fileUrl(thread, dir, name));
      expect(got.status, `GET ${name}`).toBe(200);
      expect(await got.text()).toBe(`content ${ch}`);
      const list = await expectJson<FileList>(stack.api("GET", `/v1/threads/${thread}/files?path=${encodeURIComponent(dir)}&recursive=${encodeURIComponent(ch)}`), 200);
      expect(list.entries.map((e) => e.name), dir).toEqual([name]);
      // The reported case and its relatives: a query value the URL parser re-encodes.
      const del = await stack.api("DELETE", `${fileUrl(thread, dir, name)}?recursive=${ch === "#" ? "%23" : ch === "&" ? "%26" : ch}`);
      expect(del.status, `DELETE ?recursive=${ch}: ${await del.clone().text()}`).toBe(200);
      expect((await stack.api("GET", fileUrl(thread, dir, name))).status).toBe(404);
    }
    // Nothing of this counted against the runtime: the thread never moved, health is unchanged.
    expect(ThreadStateSchema.parse(await expectJson(stack.api("GET", `/v1/threads/${thread}`), 200)).runtime.index).toBe(0);
    expect((await fetch(`${stack.worker.url}/v1/health`)).status).toBe(200);
  });

  it("deletes a directory with ?recursive=true and refuses a non-empty one without, whatever else the query holds", async () => {
    const thread = await createThread(stack, uniqueId("odd-rec"));
    await expectJson(stack.api("PUT", fileUrl(thread, "tree '1'", "leaf"), { raw: "x" }), 201);
    const dir = `/v1/threads/${thread}/files/${encodeURIComponent("tree '1'")}`;
    const refused = await stack.api("DELETE", `${dir}?recursive='`);
    expect(refused.status, await refused.clone().text()).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    await expectJson(stack.api("DELETE", `${dir}?recursive=true&note='it''s'`), 200);
    expect((await stack.api("GET", `${dir}/leaf`)).status).toBe(404);
  });
});
