import { z } from "zod";
import { type FileList, FileListSchema, type FileWritten, FileWrittenSchema, normalizeWorkspacePath } from "../../shared/src/index.ts";
import { ThreadboxError } from "./errors.ts";
import type { RequestBody } from "./http.ts";
import type { CallOptions } from "./options.ts";
import type { ThreadScope } from "./scope.ts";

const DeletedSchema = z.object({ deleted: z.string() });

/**
 * The thread's workspace files: raw bytes in and out. Paths are relative to the workspace (`data/in.csv`); a leading
 * `/` or `/workspace/` names the same file, as inside the sandbox. `..`, `.`, NUL and backslashes are refused here
 * with INVALID_PATH, as the server would.
 */
export class Files {
  readonly #scope: ThreadScope;

  constructor(scope: ThreadScope) {
    this.#scope = scope;
  }

  /** Writes a file (parents created; atomic): text is written as UTF-8. */
  async write(path: string, data: RequestBody, opts: CallOptions = {}): Promise<FileWritten> {
    const rel = relative(path, false);
    const body = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this.#scope.ensure(
      () => this.#scope.http.json(FileWrittenSchema, "PUT", this.#path(rel), { body, signal: opts.signal }),
      opts.signal,
    );
  }

  /** A file's bytes, or its text with `{ as: "text" }` (UTF-8). */
  read(path: string, opts: CallOptions & { as: "text" }): Promise<string>;
  read(path: string, opts?: CallOptions & { as?: "bytes" }): Promise<Uint8Array>;
  async read(path: string, opts: CallOptions & { as?: "text" | "bytes" } = {}): Promise<string | Uint8Array> {
    const rel = relative(path, false);
    const res = await this.#scope.ensure(() => this.#scope.http.request("GET", this.#path(rel), { signal: opts.signal }), opts.signal);
    const bytes = new Uint8Array(await res.arrayBuffer());
    return opts.as === "text" ? new TextDecoder().decode(bytes) : bytes;
  }

  /** A directory's entries (the workspace root by default); `recursive` lists the whole tree under it. */
  async list(path = "", opts: CallOptions & { recursive?: boolean } = {}): Promise<FileList> {
    const query = new URLSearchParams({ path: relative(path, true) });
    if (opts.recursive) query.set("recursive", "1");
    return this.#scope.ensure(
      () => this.#scope.http.json(FileListSchema, "GET", this.#scope.path(`/files?${query}`), { signal: opts.signal }),
      opts.signal,
    );
  }

  /** Deletes a file or link, or with `recursive` a directory and everything in it. */
  async remove(path: string, opts: CallOptions & { recursive?: boolean } = {}): Promise<{ deleted: string }> {
    const rel = relative(path, false);
    const suffix = opts.recursive ? "?recursive=1" : "";
    return this.#scope.ensure(
      () => this.#scope.http.json(DeletedSchema, "DELETE", this.#path(rel) + suffix, { signal: opts.signal }),
      opts.signal,
    );
  }

  #path(rel: string): string {
    return this.#scope.path(`/files/${rel.split("/").map(encodeURIComponent).join("/")}`);
  }
}

function relative(path: string, rootAllowed: boolean): string {
  const rel = normalizeWorkspacePath(path);
  if (rel === null || (rel === "" && !rootAllowed)) {
    throw new ThreadboxError({
      code: "INVALID_PATH",
      status: 400,
      message: rel === null ? `"${path}" is not a path inside the workspace (no "..", ".", NUL or backslash)` : "name a file, not the workspace root",
    });
  }
  return rel;
}
