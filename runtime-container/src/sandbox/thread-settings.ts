import path from "node:path";
import { z } from "zod";
import {
  type ImportPolicy,
  ImportPolicySchema,
  type NetworkMode,
  NetworkModeSchema,
  type ThreadMount,
  ThreadMountsSchema,
  isOpenImportPolicy,
} from "../../../shared/src/index.ts";
import { readJsonState, writeJsonState } from "./json-state.ts";

const StoredSchema = z.object({
  network: z.record(z.string(), NetworkModeSchema),
  import_policy: z.record(z.string(), ImportPolicySchema).default({}),
  mounts: z.record(z.string(), ThreadMountsSchema).default({}),
});

/**
 * Settings the worker gives a thread when it sets it up (`network`, `import_policy`), kept in STATE_DIR: never in the workspace,
 * where the thread's own programs could rewrite them.
 */
export class ThreadSettings {
  private readonly state: z.infer<typeof StoredSchema>;
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, "thread-settings.json");
    this.state = readJsonState(this.file, StoredSchema, { network: {}, import_policy: {}, mounts: {} });
  }

  network(key: string): NetworkMode {
    return this.state.network[key] ?? "default";
  }

  setNetwork(key: string, mode: NetworkMode): void {
    if (this.network(key) === mode) return;
    if (mode === "default") delete this.state.network[key];
    else this.state.network[key] = mode;
    writeJsonState(this.file, this.state);
  }

  /** The thread's import policy (run_python, Python contexts); null: none. */
  importPolicy(key: string): ImportPolicy | null {
    return this.state.import_policy[key] ?? null;
  }

  setImportPolicy(key: string, policy: ImportPolicy | null): void {
    const next = isOpenImportPolicy(policy) ? null : policy;
    if (JSON.stringify(this.importPolicy(key)) === JSON.stringify(next)) return;
    if (next) this.state.import_policy[key] = next;
    else delete this.state.import_policy[key];
    writeJsonState(this.file, this.state);
  }

  /** The thread's read-only mounts (name and guest path); [] for none. */
  mounts(key: string): ThreadMount[] {
    return this.state.mounts[key] ?? [];
  }

  setMounts(key: string, mounts: ThreadMount[]): void {
    if (JSON.stringify(this.mounts(key)) === JSON.stringify(mounts)) return;
    if (mounts.length) this.state.mounts[key] = mounts;
    else delete this.state.mounts[key];
    writeJsonState(this.file, this.state);
  }
}
