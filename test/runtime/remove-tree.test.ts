import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWorkspaceFile, deleteWorkspacePath } from "../../runtime-container/src/files/file-ops.ts";
import { removeHostEntry } from "../../runtime-container/src/files/remove-tree.ts";

// files/remove-tree.ts: how the runtime removes trees the sandbox can write (a thread's workspace, tmp dirs and venv,
// run directories). Never through a link, at any depth (a thread must not make itself undeletable by nesting), and
// never outside the tree while a process keeps swapping a directory for a link.

let base: string;
let ws: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "threadbox-rm-"));
  ws = join(base, "ws");
  outside = join(base, "outside");
  mkdirSync(ws);
  mkdirSync(outside);
  for (let i = 0; i < 50; i++) writeFileSync(join(outside, `f${i}`), "HOST");
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const outsideIntact = () => expect(readdirSync(outside).length, "files outside the tree were deleted").toBe(50);

/** `levels` nested directories under `root`, with a file, a link to `outside` and a dangling link at the bottom. */
function nest(root: string, levels: number): string {
  const bottom = join(root, ...Array.from({ length: levels }, () => "d"));
  mkdirSync(bottom, { recursive: true });
  writeFileSync(join(bottom, "file"), "x");
  symlinkSync(outside, join(bottom, "out"));
  symlinkSync("/nonexistent", join(bottom, "dangling"));
  return bottom;
}

describe("removeHostEntry", () => {
  it("removes a tree deeper than any fd budget (levels are moved up, never walked by path)", async () => {
    nest(ws, 300);
    // Links at several depths, some to directories full of files.
    symlinkSync(outside, join(ws, "top-link"));
    symlinkSync(outside, join(ws, "d", "d", "mid-link"));
    await removeHostEntry(base, "ws");
    expect(existsSync(ws)).toBe(false);
    outsideIntact();
  });

  it("removes a link in place of the tree, not what it points at", async () => {
    rmSync(ws, { recursive: true });
    symlinkSync(outside, ws);
    await removeHostEntry(base, "ws");
    expect(existsSync(ws)).toBe(false);
    outsideIntact();
  });

  it("is fine with a missing entry or parent", async () => {
    await removeHostEntry(base, "missing");
    await removeHostEntry(join(base, "no-such-dir"), "ws");
    expect(existsSync(ws)).toBe(true);
  });

  it("never deletes outside while a process keeps swapping a directory for a link to it", async () => {
    // Plays the sandbox: `sub` (full of files named like outside's) swapped for a link to `outside` and back, in its
    // own process, with renameat2(RENAME_EXCHANGE) so the name is always one of the two.
    const program = `
import ctypes, os, sys, time
ws, target, stop = sys.argv[1], sys.argv[2], sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
nr = {"x86_64": 316, "aarch64": 276}[os.uname().machine]
sub, alt = ws + "/sub", ws + "/sub.alt"
os.makedirs(sub)
for i in range(2000):
    open("%s/f%d" % (sub, i), "w").close()
os.symlink(target, alt)
print("ready", flush=True)
end = time.time() + 60
while time.time() < end and not os.path.exists(stop):
    libc.syscall(nr, -100, sub.encode(), -100, alt.encode(), 2)
`;
    const stop = join(base, "stop");
    const child = spawn("python3", ["-c", program, ws, outside, stop], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((r) => child.once("exit", r));
    await new Promise<void>((resolve, reject) => {
      child.stdout.once("data", () => resolve());
      child.once("exit", () => reject(new Error("the swapper exited before it was ready")));
    });
    try {
      for (let round = 0; round < 5; round++) {
        // The swapper may re-create entries under us (ENOTEMPTY): a refusal is fine, a deletion outside is not.
        await removeHostEntry(base, "ws").catch(() => undefined);
        if (!existsSync(ws)) mkdirSync(ws);
      }
    } finally {
      writeFileSync(stop, "");
      await exited;
    }
    outsideIntact();
  });
});

describe("deleteWorkspacePath (recursive)", () => {
  it("deletes a directory nested deeper than the listing limit", async () => {
    nest(ws, 300);
    await deleteWorkspacePath(ws, "d", { recursive: true });
    expect(readdirSync(ws)).toEqual([]);
    outsideIntact();
  });
});

describe("createWorkspaceFile", () => {
  it("creates a missing file, and leaves whatever is there (a link included) as it is", async () => {
    expect(await createWorkspaceFile(ws, "new.txt", new TextEncoder().encode("fresh"))).toBe(true);
    expect(readFileSync(join(ws, "new.txt"), "utf8")).toBe("fresh");
    expect(await createWorkspaceFile(ws, "new.txt", new TextEncoder().encode("again"))).toBe(false);
    expect(readFileSync(join(ws, "new.txt"), "utf8")).toBe("fresh");
    symlinkSync(join(outside, "f0"), join(ws, "link"));
    symlinkSync(join(outside, "absent"), join(ws, "dangling"));
    expect(await createWorkspaceFile(ws, "link", new TextEncoder().encode("through"))).toBe(false);
    expect(await createWorkspaceFile(ws, "dangling", new TextEncoder().encode("through"))).toBe(false);
    expect(readFileSync(join(outside, "f0"), "utf8")).toBe("HOST");
    expect(existsSync(join(outside, "absent"))).toBe(false);
    expect(lstatSync(join(ws, "link")).isSymbolicLink()).toBe(true);
  });
});
