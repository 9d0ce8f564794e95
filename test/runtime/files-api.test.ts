import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, type ExecResult, type FileList, signRequest } from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime, TEST_SECRET } from "./harness.ts";

// The file API through real HTTP: binary round trips, listing, deletion, and no way out of the workspace,
// neither by the path (`..`, encodings, NUL, backslash, absolute) nor by symlinks the sandbox plants (X10).

const TENANT = "acme";
let rt: RuntimeProcess;

beforeAll(async () => {
  rt = await startRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

const newThread = () => `fa-${randomUUID()}`;
const base = (thread: string) => `/threads/${TENANT}/${thread}`;
const hostPath = (thread: string, rel = "") => path.join(rt.workspaces, TENANT, thread, rel);

async function exec(thread: string, command: string): Promise<ExecResult> {
  return rt.json<ExecResult>("POST", `${base(thread)}/exec`, { command });
}

async function put(thread: string, rel: string, data: Uint8Array | string): Promise<void> {
  const res = await rt.call("PUT", `${base(thread)}/files/${rel}`, { raw: data });
  expect(res.status, await res.text()).toBe(201);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Status, error code (when the body is an API error) and body text. */
async function outcome(res: Response | { status: number; text: string }) {
  const text = res instanceof Response ? await res.text() : res.text;
  const parsed = ErrorBodySchema.safeParse(parseJson(text));
  return { status: res.status, code: parsed.success ? parsed.data.error.code : null, text };
}

/**
 * Sends the request target byte for byte (fetch would resolve `%2e%2e` and friends before sending). It signs
 * the path as the server parses it, so the request passes authentication and reaches the path checks.
 */
async function rawCall(method: string, target: string, body?: Uint8Array) {
  const parsed = new URL(target, rt.url);
  const headers = await signRequest(TEST_SECRET, { method, path: parsed.pathname + parsed.search, body });
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(rt.url, { method, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("round trips", () => {
  it("uploads and downloads all 256 byte values into created nested directories", async () => {
    const thread = newThread();
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const res = await rt.call("PUT", `${base(thread)}/files/deep/er/all.bin`, { raw: bytes });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ path: "deep/er/all.bin", size: 256 });

    const got = await rt.call("GET", `${base(thread)}/files/deep/er/all.bin`);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.compare(Buffer.from(await got.arrayBuffer()), Buffer.from(bytes))).toBe(0);
    expect(Buffer.compare(readFileSync(hostPath(thread, "deep/er/all.bin")), Buffer.from(bytes))).toBe(0);
  });

  it("lists a directory flat and recursively", async () => {
    const thread = newThread();
    await put(thread, "a/top.txt", "top");
    await put(thread, "a/b/c.txt", "c");
    const flat = await rt.json<FileList>("GET", `${base(thread)}/files?path=a`);
    expect(flat.path).toBe("a");
    expect(flat.entries.map((e) => [e.path, e.name, e.type])).toEqual([
      ["a/b", "b", "directory"],
      ["a/top.txt", "top.txt", "file"],
    ]);
    expect(flat.entries.find((e) => e.name === "top.txt")?.size).toBe(3);

    const deep = await rt.json<FileList>("GET", `${base(thread)}/files?path=a&recursive=1`);
    expect(deep.entries.map((e) => e.path)).toEqual(["a/b", "a/b/c.txt", "a/top.txt"]);
  });

  it("deletes a file, and a directory only when asked to recurse", async () => {
    const thread = newThread();
    await put(thread, "d/one.txt", "1");
    await put(thread, "d/sub/two.txt", "2");
    expect(await rt.json("DELETE", `${base(thread)}/files/d/one.txt`)).toEqual({ deleted: "d/one.txt" });
    expect((await outcome(await rt.call("GET", `${base(thread)}/files/d/one.txt`))).code).toBe("FILE_NOT_FOUND");

    const refused = await outcome(await rt.call("DELETE", `${base(thread)}/files/d`));
    expect(refused).toMatchObject({ status: 409, code: "NOT_A_FILE" });
    expect(existsSync(hostPath(thread, "d/sub/two.txt"))).toBe(true);

    expect(await rt.json("DELETE", `${base(thread)}/files/d?recursive=1`)).toEqual({ deleted: "d" });
    expect(existsSync(hostPath(thread, "d"))).toBe(false);
    expect((await outcome(await rt.call("DELETE", `${base(thread)}/files/d`))).code).toBe("FILE_NOT_FOUND");
  });

  it("answers FILE_NOT_FOUND for a missing file and THREAD_NOT_FOUND for an unknown thread", async () => {
    const thread = newThread();
    await put(thread, "here.txt", "x");
    expect(await outcome(await rt.call("GET", `${base(thread)}/files/missing.txt`))).toMatchObject({
      status: 404,
      code: "FILE_NOT_FOUND",
    });
    const unknown = newThread();
    expect(await outcome(await rt.call("GET", `${base(unknown)}/files/here.txt`))).toMatchObject({
      status: 404,
      code: "THREAD_NOT_FOUND",
    });
    expect((await outcome(await rt.call("GET", `${base(unknown)}/files`))).code).toBe("THREAD_NOT_FOUND");
    expect(existsSync(hostPath(unknown))).toBe(false);
  });
});

describe("paths stay inside the workspace", () => {
  let thread: string;
  beforeAll(async () => {
    thread = newThread();
    await put(thread, "a/inner.txt", "inner");
  });

  it.each([
    "files/..%2F..%2Fetc%2Fpasswd",
    "files/%2e%2e/%2e%2e/etc/passwd",
    "files/a%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "files/a%00b",
    "files/a%5Cb",
    "files?path=../..",
    "files?path=%2e%2e",
    "files?path=a%2F..%2F..",
  ])("refuses %s", async (target) => {
    const r = await outcome(await rawCall("GET", `${base(thread)}/${target}`));
    expect(r.text).not.toContain("root:");
    if (r.status === 400) expect(r.code).toBe("INVALID_PATH");
    else expect(r).toMatchObject({ status: 404, code: expect.stringMatching(/NOT_FOUND$/) });
  });

  it("refuses an upload through `..` and writes nothing outside", async () => {
    const name = `escaped-${randomUUID()}`;
    const r = await outcome(await rawCall("PUT", `${base(thread)}/files/..%2F${name}`, new Uint8Array([1])));
    expect(r).toMatchObject({ status: 400, code: "INVALID_PATH" });
    expect(existsSync(path.join(rt.workspaces, TENANT, name))).toBe(false);
  });

  it("maps an absolute path into the workspace", async () => {
    const r = await outcome(await rawCall("GET", `${base(thread)}/files//etc/passwd`));
    expect(r).toMatchObject({ status: 404, code: "FILE_NOT_FOUND" });
    expect(r.text).not.toContain("root:");
    const inner = await rawCall("GET", `${base(thread)}/files//workspace/a/inner.txt`);
    expect(inner).toEqual({ status: 200, text: "inner" });
  });
});

describe("symlinks planted by the sandbox (X10)", () => {
  let thread: string;
  let decoy: string;
  beforeAll(async () => {
    thread = newThread();
    // A host-only file: a link to it, if followed by the server, would read or overwrite it.
    decoy = path.join(rt.root, `decoy-${randomUUID()}`);
    writeFileSync(decoy, "HOST DECOY");
    const r = await exec(thread, `ln -s /etc/passwd /x && ln -s / /d && ln -s ${decoy} /y`);
    expect(r.exit_code).toBe(0);
  });

  it("refuses to read through a link to a host file", async () => {
    const r = await outcome(await rt.call("GET", `${base(thread)}/files/x`));
    expect([400, 409]).toContain(r.status);
    expect(r.text).not.toContain("root:");
    const y = await outcome(await rt.call("GET", `${base(thread)}/files/y`));
    expect([400, 409]).toContain(y.status);
    expect(y.text).not.toContain("HOST DECOY");
  });

  it("refuses a path through a linked directory", async () => {
    const r = await outcome(await rt.call("GET", `${base(thread)}/files/d/etc/passwd`));
    expect(r).toMatchObject({ status: 400, code: "INVALID_PATH" });
    expect(r.text).not.toContain("root:");
    expect(await outcome(await rt.call("GET", `${base(thread)}/files?path=d`))).toMatchObject({
      status: 400,
      code: "INVALID_PATH",
    });
    expect(await outcome(await rt.call("GET", `${base(thread)}/files?path=d&recursive=1`))).toMatchObject({
      status: 400,
      code: "INVALID_PATH",
    });
  });

  it("refuses an upload through a linked directory and creates nothing on the host", async () => {
    const name = `evil-${randomUUID()}`;
    const r = await outcome(await rt.call("PUT", `${base(thread)}/files/d/${name}`, { raw: "evil" }));
    expect(r).toMatchObject({ status: 400, code: "INVALID_PATH" });
    expect(existsSync(`/${name}`)).toBe(false);
    expect(existsSync(hostPath(thread, name))).toBe(false);
  });

  it("replaces a link on upload instead of writing through it", async () => {
    const res = await rt.call("PUT", `${base(thread)}/files/y`, { raw: "replaced" });
    expect(res.status).toBe(201);
    expect(readFileSync(decoy, "utf8")).toBe("HOST DECOY");
    expect(readFileSync(hostPath(thread, "y"), "utf8")).toBe("replaced");
  });

  it("lists links as links, without following them", async () => {
    const list = await rt.json<FileList>("GET", `${base(thread)}/files?recursive=1`);
    const byPath = new Map(list.entries.map((e) => [e.path, e.type]));
    expect(byPath.get("x")).toBe("symlink");
    expect(byPath.get("d")).toBe("symlink");
    expect([...byPath.keys()].some((p) => p.startsWith("d/"))).toBe(false);
  });
});

describe("files are shared with the sandbox", () => {
  it("lets the sandbox modify an uploaded file and directory", async () => {
    const thread = newThread();
    await put(thread, "dir/up.txt", "first\n");
    const r = await exec(thread, "echo more >> /dir/up.txt && touch /dir/new.txt");
    expect(r).toMatchObject({ exit_code: 0, stderr: "" });
    const got = await rt.call("GET", `${base(thread)}/files/dir/up.txt`);
    expect(await got.text()).toBe("first\nmore\n");
  });

  it("downloads a file written by the sandbox", async () => {
    const thread = newThread();
    expect((await exec(thread, "mkdir -p /out && printf 'from sandbox' > /out/made.txt")).exit_code).toBe(0);
    const got = await rt.call("GET", `${base(thread)}/files/out/made.txt`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("from sandbox");
  });
});
