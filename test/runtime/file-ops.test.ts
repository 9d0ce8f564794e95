import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppError } from "../../shared/src/errors.ts";
import {
  deleteWorkspacePath,
  listWorkspaceDir,
  readWorkspaceFile,
  statWorkspacePath,
  writeWorkspaceFile,
} from "../../runtime-container/src/files/file-ops.ts";

// Not tested here: a host file hard-linked into the workspace is readable, because it *is* a workspace
// entry. X12 (linking is refused) is the layer that stops that; writes replace entries by rename, so
// they never modify a linked inode either way.

const MB = 1 << 20;
let base: string;
let ws: string; // the workspace root
let outside: string; // a host directory the sandbox must never reach

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "threadbox-files-"));
  ws = join(base, "ws");
  outside = join(base, "outside");
  mkdirSync(ws);
  mkdirSync(outside);
  writeFileSync(join(outside, "secret"), "HOST SECRET");
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** The AppError code an operation fails with, or "ok". */
async function codeOf(op: Promise<unknown>): Promise<string> {
  try {
    await op;
    return "ok";
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

const stray = (dir: string) => readdirSync(dir).filter((n) => n.includes(".threadbox-write-"));

describe("round trips", () => {
  it("writes and reads binary bytes in nested, created directories", async () => {
    const bytes = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
    expect(await writeWorkspaceFile(ws, "a/b/c.bin", bytes)).toEqual({ path: "a/b/c.bin", size: 512 });
    const read = await readWorkspaceFile(ws, "a/b/c.bin", MB);
    expect(Buffer.compare(read.data, Buffer.from(bytes))).toBe(0);
    expect(read.size).toBe(512);
    expect(Number.isNaN(Date.parse(read.modified_at))).toBe(false);
    await writeWorkspaceFile(ws, "/workspace/a/b/c.bin", new TextEncoder().encode("v2"));
    expect(readFileSync(join(ws, "a/b/c.bin"), "utf8")).toBe("v2");
    expect(stray(join(ws, "a/b"))).toEqual([]);
  });

  it("never creates setuid files and reports size limits and wrong types", async () => {
    await writeWorkspaceFile(ws, "tool", new Uint8Array(3), { mode: 0o4755 });
    expect(statSync(join(ws, "tool")).mode & 0o7777).toBe(0o755);
    expect(await codeOf(readWorkspaceFile(ws, "tool", 2))).toBe("PAYLOAD_TOO_LARGE");
    expect(await codeOf(readWorkspaceFile(ws, "nope", MB))).toBe("FILE_NOT_FOUND");
    expect(await codeOf(readWorkspaceFile(ws, "tool/x", MB))).toBe("NOT_A_DIRECTORY");
    mkdirSync(join(ws, "dir"));
    expect(await codeOf(readWorkspaceFile(ws, "dir", MB))).toBe("NOT_A_FILE");
    expect(await codeOf(writeWorkspaceFile(ws, "dir", new Uint8Array(1)))).toBe("NOT_A_FILE");
    expect(await codeOf(writeWorkspaceFile(ws, "", new Uint8Array(1)))).toBe("NOT_A_FILE");
    expect(stray(ws)).toEqual([]);
  });

  it("refuses a FIFO without hanging", async () => {
    execFileSync("mkfifo", [join(ws, "pipe")]);
    expect(await codeOf(readWorkspaceFile(ws, "pipe", MB))).toBe("NOT_A_FILE");
    expect((await statWorkspacePath(ws, "pipe"))?.type).toBe("other");
  });

  it("lists flat and recursive, sorted, with workspace-relative paths", async () => {
    await writeWorkspaceFile(ws, "b.txt", new Uint8Array(4));
    await writeWorkspaceFile(ws, "a/z.txt", new Uint8Array(1));
    await writeWorkspaceFile(ws, "a/y/x.txt", new Uint8Array(2));
    const flat = await listWorkspaceDir(ws, "");
    expect(flat.entries.map((e) => [e.path, e.type, e.size])).toEqual([
      ["a", "directory", 0],
      ["b.txt", "file", 4],
    ]);
    const deep = await listWorkspaceDir(ws, "/a", { recursive: true });
    expect(deep.path).toBe("a");
    expect(deep.entries.map((e) => `${e.path}:${e.name}`)).toEqual(["a/y:y", "a/y/x.txt:x.txt", "a/z.txt:z.txt"]);
    expect(await codeOf(listWorkspaceDir(ws, "", { recursive: true, maxEntries: 3 }))).toBe("PAYLOAD_TOO_LARGE");
    expect(await codeOf(listWorkspaceDir(ws, "b.txt"))).toBe("NOT_A_DIRECTORY");
    expect(await codeOf(listWorkspaceDir(ws, "missing"))).toBe("FILE_NOT_FOUND");
  });

  it("deletes files, and directories only when recursive, never the root", async () => {
    await writeWorkspaceFile(ws, "d/e/f.txt", new Uint8Array(1));
    await writeWorkspaceFile(ws, "g.txt", new Uint8Array(1));
    await deleteWorkspacePath(ws, "g.txt");
    expect(await statWorkspacePath(ws, "g.txt")).toBeNull();
    expect(await codeOf(deleteWorkspacePath(ws, "d"))).toBe("NOT_A_FILE");
    await deleteWorkspacePath(ws, "d", { recursive: true });
    expect(readdirSync(ws)).toEqual([]);
    expect(await codeOf(deleteWorkspacePath(ws, "d"))).toBe("FILE_NOT_FOUND");
    expect(await codeOf(deleteWorkspacePath(ws, "/", { recursive: true }))).toBe("INVALID_PATH");
    expect((await statWorkspacePath(ws, ""))?.type).toBe("directory");
  });
});

describe("traversal forms", () => {
  it.each(["../x", "a/../../x", "a/./b", "a//b", "a\0b", "a\\..\\b", ".."])("rejects %j everywhere", async (p) => {
    expect(await codeOf(readWorkspaceFile(ws, p, MB))).toBe("INVALID_PATH");
    expect(await codeOf(writeWorkspaceFile(ws, p, new Uint8Array(1)))).toBe("INVALID_PATH");
    expect(await codeOf(listWorkspaceDir(ws, p))).toBe("INVALID_PATH");
    expect(await codeOf(deleteWorkspacePath(ws, p, { recursive: true }))).toBe("INVALID_PATH");
    expect(await codeOf(statWorkspacePath(ws, p))).toBe("INVALID_PATH");
    expect(readdirSync(base).sort()).toEqual(["outside", "ws"]);
  });

  it("treats an absolute host path as a path inside the workspace", async () => {
    expect(await codeOf(readWorkspaceFile(ws, "/etc/passwd", MB))).toBe("FILE_NOT_FOUND");
  });
});

describe("planted symlinks (X10)", () => {
  it("never reads through a final-component link", async () => {
    symlinkSync("/etc/passwd", join(ws, "x"));
    symlinkSync(join(outside, "secret"), join(ws, "s"));
    for (const name of ["x", "s"]) {
      const result = await readWorkspaceFile(ws, name, MB).catch((err: unknown) => err);
      expect(result).toBeInstanceOf(AppError);
      expect((result as AppError).code).toBe("NOT_A_FILE");
      expect(JSON.stringify(result)).not.toMatch(/root:|HOST SECRET/);
    }
    expect((await statWorkspacePath(ws, "x"))?.type).toBe("symlink");
  });

  it("replaces a link on write instead of writing through it, and deletes only the link", async () => {
    symlinkSync(join(outside, "secret"), join(ws, "s"));
    await writeWorkspaceFile(ws, "s", new TextEncoder().encode("mine"));
    expect(lstatSync(join(ws, "s")).isFile()).toBe(true);
    expect(readFileSync(join(outside, "secret"), "utf8")).toBe("HOST SECRET");
    symlinkSync(join(outside, "secret"), join(ws, "t"));
    await deleteWorkspacePath(ws, "t");
    expect(readdirSync(ws).sort()).toEqual(["s"]);
    expect(readFileSync(join(outside, "secret"), "utf8")).toBe("HOST SECRET");
  });

  it.each([
    ["absolute", () => outside],
    ["relative", () => "../outside"],
  ])("never passes through a directory link (%s)", async (_kind, target) => {
    symlinkSync(target(), join(ws, "d"));
    symlinkSync("/", join(ws, "r"));
    expect(await codeOf(readWorkspaceFile(ws, "d/secret", MB))).toBe("INVALID_PATH");
    expect(await codeOf(writeWorkspaceFile(ws, "d/new", new Uint8Array(1)))).toBe("INVALID_PATH");
    expect(await codeOf(writeWorkspaceFile(ws, "d/sub/new", new Uint8Array(1)))).toBe("INVALID_PATH");
    expect(await codeOf(listWorkspaceDir(ws, "d"))).toBe("INVALID_PATH");
    expect(await codeOf(listWorkspaceDir(ws, "r"))).toBe("INVALID_PATH");
    expect(await codeOf(deleteWorkspacePath(ws, "d/secret"))).toBe("INVALID_PATH");
    expect(await codeOf(statWorkspacePath(ws, "d/secret"))).toBe("INVALID_PATH");
    const all = await listWorkspaceDir(ws, "", { recursive: true });
    expect(all.entries.map((e) => [e.path, e.type])).toEqual([
      ["d", "symlink"],
      ["r", "symlink"],
    ]);
    await deleteWorkspacePath(ws, "d", { recursive: true });
    expect(readdirSync(ws)).toEqual(["r"]);
    expect(readdirSync(outside)).toEqual(["secret"]);
  });
});

/**
 * Plays the sandbox: keeps swapping `<ws>/sub` between a fresh real directory and a link to `target`,
 * in its own process so the swaps really interleave with our thread-pool I/O.
 */
async function withSwapper(target: string, ops: () => Promise<void>): Promise<number> {
  const script = `
    const fs = require("node:fs");
    const [ws, target, stop] = process.argv.slice(1);
    const sub = ws + "/sub";
    const until = Date.now() + 2000;
    let i = 0;
    process.stdout.write("ready\\n");
    for (; i < 5000 && Date.now() < until && !fs.existsSync(stop); i++) {
      try {
        if (fs.lstatSync(sub).isSymbolicLink()) { fs.unlinkSync(sub); fs.mkdirSync(sub); }
        else { fs.renameSync(sub, ws + "/old" + i); fs.symlinkSync(target, sub); }
      } catch {}
    }
    process.stdout.write(String(i) + "\\n");`;
  mkdirSync(join(ws, "sub"));
  const stop = join(base, "stop");
  const child = spawn(process.execPath, ["-e", script, ws, target, stop], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await ops().finally(() => writeFileSync(stop, ""));
  await exited;
  return Number(out.trim().split("\n").at(-1));
}

describe("swap race (X11)", () => {
  it("keeps writes inside the workspace while a directory flips to a link", async () => {
    const outcomes = new Map<string, number>();
    const swaps = await withSwapper(outside, async () => {
      for (let batch = 0; batch < 20; batch++) {
        const writes = Array.from({ length: 10 }, (_, j) =>
          codeOf(writeWorkspaceFile(ws, `sub/f${batch * 10 + j}`, randomBytes(64))),
        );
        for (const code of await Promise.all(writes)) outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
      }
    });
    expect(swaps).toBeGreaterThan(100);
    // Both outcomes seen: the writes really overlapped both states of `sub`.
    expect(outcomes.get("ok")).toBeGreaterThan(0);
    expect(outcomes.get("INVALID_PATH")).toBeGreaterThan(0);
    expect([...outcomes.keys()].every((c) => ["ok", "INVALID_PATH", "NOT_A_DIRECTORY"].includes(c))).toBe(true);
    expect(readdirSync(outside)).toEqual(["secret"]);
  });

  it("never reads, lists or deletes through the link mid-swap", async () => {
    const swaps = await withSwapper(outside, async () => {
      for (let i = 0; i < 200; i++) {
        const read = await readWorkspaceFile(ws, "sub/secret", MB).catch(() => null);
        expect(read).toBeNull();
        const list = await listWorkspaceDir(ws, "sub").catch(() => null);
        expect(list?.entries ?? []).toEqual([]);
        await deleteWorkspacePath(ws, "sub/secret").catch(() => undefined);
      }
    });
    expect(swaps).toBeGreaterThan(100);
    expect(readFileSync(join(outside, "secret"), "utf8")).toBe("HOST SECRET");
  });
});
