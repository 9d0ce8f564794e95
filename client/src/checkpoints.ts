import { type CheckpointList, CheckpointListSchema } from "../../shared/src/index.ts";
import { seg } from "./http.ts";
import type { CallOptions } from "./options.ts";
import type { ResultOptions, ResultValues, StreamOptions } from "./run.ts";
import { type ThreadScope, splitOptions } from "./scope.ts";
import type { ExecutionStream } from "./stream.ts";

export interface CreateCheckpointOptions {
  label?: string;
}

/**
 * A thread's checkpoints (README, *Checkpoints, restore and fork*): taking and restoring one are executions, queued
 * behind what runs, so they resolve to their result or stream their events like any other.
 */
export class Checkpoints {
  readonly #scope: ThreadScope;

  constructor(scope: ThreadScope) {
    this.#scope = scope;
  }

  /** A snapshot of the workspace's files and manifests: `{id, label, created_at, size_bytes, files, skipped}`. */
  create(opts: CreateCheckpointOptions & StreamOptions): ExecutionStream;
  create(opts?: CreateCheckpointOptions & ResultOptions): Promise<ResultValues["checkpoint"]>;
  create(opts?: CreateCheckpointOptions & (StreamOptions | ResultOptions)): ExecutionStream | Promise<ResultValues["checkpoint"]> {
    const { body, call } = splitOptions(opts);
    return this.#scope.execute("/checkpoints", body, ["checkpoint"], call);
  }

  /** The thread's checkpoints (oldest first), the bytes they hold together, and the thread's limits. */
  list(opts: CallOptions = {}): Promise<CheckpointList> {
    return this.#scope.http.json(CheckpointListSchema, "GET", this.#scope.path("/checkpoints"), { signal: opts.signal });
  }

  /** Deletes one; contents no other checkpoint shares are freed. */
  async delete(id: string, opts: CallOptions = {}): Promise<{ id: string; deleted: boolean }> {
    const res = await this.#scope.http.request("DELETE", this.#scope.path(`/checkpoints/${seg(id)}`), { signal: opts.signal });
    return (await res.json()) as { id: string; deleted: boolean };
  }

  /** Puts the workspace back exactly as the checkpoint has it (the venv rebuilt when its manifest differs). */
  restore(id: string, opts: StreamOptions): ExecutionStream;
  restore(id: string, opts?: ResultOptions): Promise<ResultValues["restore"]>;
  restore(id: string, opts?: StreamOptions | ResultOptions): ExecutionStream | Promise<ResultValues["restore"]> {
    const { call } = splitOptions(opts);
    return this.#scope.execute(`/checkpoints/${seg(id)}/restore`, {}, ["restore"], call);
  }
}
