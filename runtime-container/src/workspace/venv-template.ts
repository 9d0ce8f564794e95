import { randomBytes } from "node:crypto";
import { chmod, lchown, lstat, mkdir, open, readFile, readdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import type { Owner } from "../files/safe-open.ts";

/** One entry of the template, relative to its top; parents come before their children. */
type Entry =
  | { rel: string; kind: "dir"; mode: number }
  | { rel: string; kind: "file"; mode: number; data: Buffer }
  | { rel: string; kind: "link"; target: string };

/** Far above a real venv made with --without-pip (16 entries, 14 KiB): anything bigger is not what make() wrote. */
const MAX_ENTRIES = 200;
const MAX_BYTES = 1 << 20;

/**
 * A new thread's venv is a copy of one template, not a `python -m venv` under the sandbox (a few ms instead of a
 * few hundred under proot). A venv is position-independent apart from its activate scripts: Python finds its
 * prefix from pyvenv.cfg beside the interpreter, and bin/python links to the base interpreter, which every
 * sandbox sees at the same path. So the template is made once per runtime on the host (from the runtime's own
 * inputs only), its activate scripts rewritten for the guest path, and kept root-owned where no sandbox sees it.
 * It is read into memory once: a copy is then a few mkdir/write/symlink calls, with no process spawned.
 */
export class VenvTemplate {
  private made: Promise<Entry[]> | null = null;
  /** What the first copy's interpreter reported in its sandbox (verify.ts): null until one copy has run. */
  private check: { version: string; prefix: string } | null = null;

  constructor(
    /** Host directory for the template (under STATE_DIR). */
    private readonly dir: string,
    private readonly pythonBin: string,
    /** Where every thread's venv appears inside its sandbox. */
    private readonly guestPath: string,
  ) {}

  /**
   * Writes a copy to `target` (which must not exist yet), every entry owned by the thread as it is made: `target`
   * is a new name in a directory of root's that no sandbox sees, so nothing in it can be a planted link.
   */
  async copyTo(target: string, owner: Owner): Promise<void> {
    const entries = await this.template();
    await mkdir(target, { mode: 0o700 });
    for (const e of entries) {
      const at = path.join(target, e.rel);
      if (e.kind === "link") await symlink(e.target, at);
      else if (e.kind === "dir") await mkdir(at);
      else await writeFile(at, e.data, { flag: "wx" });
      if (owner) await lchown(at, owner.uid, owner.gid);
      // After the chown, which may clear set-id bits, and whatever the runtime's umask.
      if (e.kind !== "link") await chmod(at, e.mode);
    }
    if (owner) await lchown(target, owner.uid, owner.gid);
  }

  /**
   * The check of an earlier copy seen at `guestVenv`, so a new copy need not start its interpreter in a sandbox (the
   * most of a new thread's set-up): every copy is the same entries from the same template, given to its thread the
   * same way. Null until one copy passed.
   */
  checked(guestVenv: string): { ok: true; version: string; prefix: string } | null {
    return this.check && this.check.prefix === guestVenv ? { ok: true, ...this.check } : null;
  }

  recordCheck(check: { version: string; prefix: string }): void {
    this.check = { version: check.version, prefix: check.prefix };
  }

  private template(): Promise<Entry[]> {
    this.made ??= this.make().catch((err: unknown) => {
      this.made = null; // a failed attempt is retried by the next thread
      this.check = null;
      throw err;
    });
    return this.made;
  }

  private async make(): Promise<Entry[]> {
    const final = path.join(this.dir, "venv");
    await rm(this.dir, { recursive: true, force: true });
    const aside = `${final}.build-${randomBytes(4).toString("hex")}`;
    await execa(this.pythonBin, ["-m", "venv", "--system-site-packages", "--without-pip", aside], { stdin: "ignore" });
    for (const name of await readdir(path.join(aside, "bin"))) {
      if (!name.toLowerCase().startsWith("activate")) continue;
      const file = path.join(aside, "bin", name);
      const text = await readFile(file, "utf8");
      await writeFile(file, text.replaceAll(aside, this.guestPath));
    }
    await rename(aside, final);
    return readTree(final);
  }
}

/** The template's entries (root's own tree: plain paths are safe here); modes without the umask's say. */
async function readTree(top: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(top, rel))).sort()) {
      const r = path.join(rel, name);
      const at = path.join(top, r);
      const st = await lstat(at);
      if (entries.length >= MAX_ENTRIES) throw new Error(`the template venv has over ${MAX_ENTRIES} entries`);
      if (st.isSymbolicLink()) entries.push({ rel: r, kind: "link", target: await readlink(at) });
      else if (st.isDirectory()) {
        entries.push({ rel: r, kind: "dir", mode: st.mode & 0o7777 });
        await walk(r);
      } else if (st.isFile()) {
        bytes += st.size;
        if (bytes > MAX_BYTES) throw new Error("the template venv is over 1 MiB");
        entries.push({ rel: r, kind: "file", mode: st.mode & 0o7777, data: await readFile(at) });
      } else throw new Error(`unexpected entry in the template venv: ${r}`);
    }
  };
  await walk("");
  return entries;
}
