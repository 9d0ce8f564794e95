import { randomBytes } from "node:crypto";
import { readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { giveTree } from "../files/chown-tree.ts";
import type { Owner } from "../files/safe-open.ts";

/**
 * A new thread's venv is a copy of one template, not a `python -m venv` under the sandbox (a few ms instead of a
 * few hundred under proot). A venv is position-independent apart from its activate scripts: Python finds its
 * prefix from pyvenv.cfg beside the interpreter, and bin/python links to the base interpreter, which every
 * sandbox sees at the same path. So the template is made once per runtime on the host (from the runtime's own
 * inputs only), its activate scripts rewritten for the guest path, and kept root-owned where no sandbox sees it.
 */
export class VenvTemplate {
  private made: Promise<string> | null = null;

  constructor(
    /** Host directory for the template (under STATE_DIR). */
    private readonly dir: string,
    private readonly pythonBin: string,
    /** Where every thread's venv appears inside its sandbox. */
    private readonly guestPath: string,
  ) {}

  /** Copies the template to `target` (which must not exist yet), owned by the thread. */
  async copyTo(target: string, owner: Owner): Promise<void> {
    const template = await this.template();
    // cp -a keeps links as links (bin/python, lib64) and the modes; then the thread owns every entry.
    await execa("cp", ["-a", "--no-target-directory", template, target], { stdin: "ignore" });
    if (owner) await giveTree(target, owner);
  }

  private template(): Promise<string> {
    this.made ??= this.make().catch((err: unknown) => {
      this.made = null; // a failed attempt is retried by the next thread
      throw err;
    });
    return this.made;
  }

  private async make(): Promise<string> {
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
    return final;
  }
}
