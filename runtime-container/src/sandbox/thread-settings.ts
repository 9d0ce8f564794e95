import path from "node:path";
import { z } from "zod";
import {
  type EgressSecret,
  type ImportPolicy,
  ImportPolicySchema,
  NetworkModeSchema,
  type NetworkPolicyView,
  NetworkPolicyViewSchema,
  type NetworkMode,
  type ThreadMount,
  ThreadMountsSchema,
  isOpenImportPolicy,
} from "../../../shared/src/index.ts";
import { readJsonState, writeJsonState } from "./json-state.ts";
import type { EgressSource } from "./network/egress-proxy.ts";
import type { NamespaceMode } from "./network/namespace.ts";

const StoredSchema = z.object({
  network: z.record(z.string(), z.union([NetworkModeSchema, NetworkPolicyViewSchema])),
  import_policy: z.record(z.string(), ImportPolicySchema).default({}),
  mounts: z.record(z.string(), ThreadMountsSchema).default({}),
});

/**
 * Settings the worker gives a thread when it sets it up (`network`, `import_policy`), kept in STATE_DIR: never in the workspace,
 * where the thread's own programs could rewrite them. A network policy's secrets are kept in memory only (never on
 * disk): the worker sends them sealed with the thread's calls (server/egress-secrets.ts).
 */
export class ThreadSettings {
  private readonly state: z.infer<typeof StoredSchema>;
  private readonly file: string;
  private readonly secretValues = new Map<string, readonly EgressSecret[]>();

  constructor(stateDir: string) {
    this.file = path.join(stateDir, "thread-settings.json");
    this.state = readJsonState(this.file, StoredSchema, { network: {}, import_policy: {}, mounts: {} });
  }

  /** How the thread's namespace is made: "proxy" for a thread under a network policy. */
  network(key: string): NamespaceMode {
    const setting = this.state.network[key];
    return typeof setting === "object" ? "proxy" : (setting ?? "default");
  }

  /** The thread's network policy, secrets named but not given; null: none. */
  policy(key: string): NetworkPolicyView | null {
    const setting = this.state.network[key];
    return typeof setting === "object" ? setting : null;
  }

  /** What the API shows of the thread's `network`. */
  networkView(key: string): NetworkPolicyView | "default" | "none" {
    return this.policy(key) ?? (this.network(key) === "none" ? "none" : "default");
  }

  setNetwork(key: string, setting: NetworkMode | NetworkPolicyView): void {
    const next = setting;
    if (typeof setting !== "object") this.secretValues.delete(key);
    if (JSON.stringify(this.state.network[key] ?? "default") === JSON.stringify(next)) return;
    if (next === "default") delete this.state.network[key];
    else this.state.network[key] = next;
    writeJsonState(this.file, this.state);
  }

  /** The secrets' values, in memory; only those the stored policy names are used. */
  setSecrets(key: string, secrets: readonly EgressSecret[]): void {
    if (secrets.length === 0) this.secretValues.delete(key);
    else this.secretValues.set(key, secrets);
  }

  /** The thread's secrets the policy names (a header the policy no longer lists is not added). */
  secrets(key: string): readonly EgressSecret[] {
    const named = this.policy(key)?.secrets ?? [];
    return (this.secretValues.get(key) ?? []).filter((s) => named.some((n) => n.host === s.host && n.header.toLowerCase() === s.header.toLowerCase()));
  }

  /** For the thread's egress proxy: read live. */
  egress(key: string): EgressSource {
    return { policy: () => this.policy(key), secrets: () => this.secrets(key) };
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
