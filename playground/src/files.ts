import type { FileEntry, Thread } from "threadbox/client";
import { announce, byId, describe, formatBytes, h } from "./dom.ts";

/** The thread's workspace: browse folders, upload (picker or drag and drop), download and delete files. */
export class Files {
  readonly #table = byId<HTMLTableElement>("file-table");
  readonly #path = byId("file-path");
  readonly #drop = byId("drop-zone");
  readonly #hidden = byId<HTMLInputElement>("show-hidden");
  #thread: Thread | null = null;
  #dir = "";

  constructor() {
    const upload = byId<HTMLInputElement>("upload");
    upload.addEventListener("change", () => {
      void this.upload([...(upload.files ?? [])]).then(() => (upload.value = ""));
    });
    byId("files-refresh").addEventListener("click", () => void this.refresh());
    this.#hidden.addEventListener("change", () => void this.refresh());
    this.#drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      this.#drop.classList.add("over");
    });
    this.#drop.addEventListener("dragleave", () => this.#drop.classList.remove("over"));
    this.#drop.addEventListener("drop", (e) => {
      e.preventDefault();
      this.#drop.classList.remove("over");
      void this.upload([...(e.dataTransfer?.files ?? [])]);
    });
  }

  setThread(thread: Thread | null): void {
    this.#thread = thread;
    this.#dir = "";
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const thread = this.#thread;
    this.#renderPath();
    if (!thread) return this.#rows([]);
    try {
      const list = await thread.files.list(this.#dir);
      // Dot files (the venv, caches, threadbox's own state) only when asked for.
      const shown = this.#hidden.checked ? list.entries : list.entries.filter((e) => !e.name.startsWith("."));
      const sorted = [...shown].sort((a, b) => Number(b.type === "directory") - Number(a.type === "directory") || a.name.localeCompare(b.name));
      this.#rows(sorted);
    } catch (err) {
      announce(`Could not list ${this.#dir || "the workspace"}: ${describe(err)}`, "error");
    }
  }

  async upload(files: File[]): Promise<void> {
    const thread = this.#thread;
    if (!thread || files.length === 0) return;
    for (const file of files) {
      const dest = this.#dir ? `${this.#dir}/${file.name}` : file.name;
      try {
        const written = await thread.files.write(dest, file);
        announce(`Uploaded ${written.path} (${formatBytes(written.size)}).`);
      } catch (err) {
        announce(`Could not upload ${file.name}: ${describe(err)}`, "error");
      }
    }
    await this.refresh();
  }

  async #download(entry: FileEntry): Promise<void> {
    if (!this.#thread) return;
    try {
      const bytes = await this.#thread.files.read(entry.path);
      const url = URL.createObjectURL(new Blob([bytes.slice()]));
      const a = h("a", { href: url, download: entry.name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      announce(`Could not download ${entry.path}: ${describe(err)}`, "error");
    }
  }

  async #delete(entry: FileEntry): Promise<void> {
    if (!this.#thread) return;
    const what = entry.type === "directory" ? `the folder ${entry.path} and everything in it` : entry.path;
    if (!confirm(`Delete ${what}?`)) return;
    try {
      await this.#thread.files.remove(entry.path, { recursive: entry.type === "directory" });
      announce(`Deleted ${entry.path}.`);
    } catch (err) {
      announce(`Could not delete ${entry.path}: ${describe(err)}`, "error");
    }
    await this.refresh();
  }

  #open(dir: string): void {
    this.#dir = dir;
    void this.refresh();
  }

  #renderPath(): void {
    const parts = this.#dir ? this.#dir.split("/") : [];
    const crumb = (label: string, depth: number) => {
      const button = h("button", { type: "button", class: "link", "aria-current": depth === parts.length ? "location" : undefined }, label);
      button.addEventListener("click", () => this.#open(parts.slice(0, depth).join("/")));
      return button;
    };
    const nodes: (Node | string)[] = [crumb("workspace", 0)];
    parts.forEach((part, i) => nodes.push("/", crumb(part, i + 1)));
    this.#path.replaceChildren(...nodes);
  }

  #rows(entries: FileEntry[]): void {
    const body = this.#table.tBodies[0];
    if (!body) return;
    if (entries.length === 0) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: "3", class: "hint" }, this.#thread ? "Empty folder." : "No thread open.")));
      return;
    }
    body.replaceChildren(...entries.map((e) => this.#row(e)));
  }

  #row(entry: FileEntry): HTMLTableRowElement {
    const isDir = entry.type === "directory";
    const name = isDir
      ? h("button", { type: "button", class: "link name", "aria-label": `Open folder ${entry.name}` }, `${entry.name}/`)
      : h("span", { class: "name" }, entry.type === "symlink" ? `${entry.name} →` : entry.name);
    if (isDir) name.addEventListener("click", () => this.#open(entry.path));
    const actions = h("td", {});
    if (entry.type === "file") {
      const download = h("button", { type: "button", "aria-label": `Download ${entry.name}` }, "Download");
      download.addEventListener("click", () => void this.#download(entry));
      actions.append(download, " ");
    }
    const del = h("button", { type: "button", "aria-label": `Delete ${entry.name}` }, "Delete");
    del.addEventListener("click", () => void this.#delete(entry));
    actions.append(del);
    return h("tr", {}, h("td", {}, name), h("td", {}, isDir ? "–" : formatBytes(entry.size)), actions);
  }
}
