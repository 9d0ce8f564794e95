import { z } from "zod";
import {
  type FileEntry,
  FileEntrySchema,
  type MountSummary,
  MountListSchema,
  MountNameSchema,
  normalizeWorkspacePath,
} from "../../shared/src/index.ts";
import { ThreadboxError } from "./errors.ts";
import type { Http, RequestBody } from "./http.ts";
import type { CallOptions } from "./options.ts";

const WrittenSchema = z.object({ name: z.string(), path: z.string(), size: z.number() });
const DeletedSchema = z.object({ name: z.string(), deleted: z.string() });
const FilesSchema = z.object({ name: z.string(), entries: z.array(FileEntrySchema) });

/**
 * The tenant's shared read-only mounts (`tb.mounts`, API keys only): named file sets that threads created with
 * `mounts: [{ name, path }]` see read-only. A change is seen by each thread's next run.
 */
export class Mounts {
  readonly #http: Http;

  constructor(http: Http) {
    this.#http = http;
  }

  /** Writes one file of mount `name` (created on its first file); text is written as UTF-8. */
  put(name: string, path: string, data: RequestBody, opts: CallOptions = {}): Promise<z.infer<typeof WrittenSchema>> {
    const body = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this.#http.json(WrittenSchema, "PUT", filePath(name, path), { body, signal: opts.signal });
  }

  /** The tenant's mounts with their file counts and sizes; with a name, that mount's files. */
  list(opts?: CallOptions): Promise<MountSummary[]>;
  list(name: string, opts?: CallOptions): Promise<FileEntry[]>;
  async list(nameOrOpts?: string | CallOptions, opts: CallOptions = {}): Promise<MountSummary[] | FileEntry[]> {
    if (typeof nameOrOpts === "string") {
      return (await this.#http.json(FilesSchema, "GET", `/v1/mounts/${checkedName(nameOrOpts)}/files`, { signal: opts.signal })).entries;
    }
    return (await this.#http.json(MountListSchema, "GET", "/v1/mounts", { signal: nameOrOpts?.signal })).mounts;
  }

  /** Deletes one file or directory of a mount, or (no path) the whole mount. */
  delete(name: string, path?: string, opts: CallOptions = {}): Promise<z.infer<typeof DeletedSchema>> {
    const target = path === undefined ? `/v1/mounts/${checkedName(name)}` : filePath(name, path);
    return this.#http.json(DeletedSchema, "DELETE", target, { signal: opts.signal });
  }
}

function checkedName(name: string): string {
  const parsed = MountNameSchema.safeParse(name);
  if (!parsed.success) throw new ThreadboxError({ code: "VALIDATION_FAILED", status: 400, message: `invalid mount name "${name}": 1–63 of a-z 0-9 . _ -` });
  return parsed.data;
}

function filePath(name: string, path: string): string {
  const rel = normalizeWorkspacePath(path);
  if (rel === null || rel === "") {
    throw new ThreadboxError({ code: "INVALID_PATH", status: 400, message: `"${path}" is not a file path inside the mount (no "..", ".", NUL or backslash)` });
  }
  return `/v1/mounts/${checkedName(name)}/files/${rel.split("/").map(encodeURIComponent).join("/")}`;
}
