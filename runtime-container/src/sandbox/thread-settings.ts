import path from "node:path";
import { z } from "zod";
import { type NetworkMode, NetworkModeSchema } from "../../../shared/src/index.ts";
import { readJsonState, writeJsonState } from "./json-state.ts";

const StoredSchema = z.object({ network: z.record(z.string(), NetworkModeSchema) });

/**
 * Settings the worker gives a thread when it creates it (`network`), kept in STATE_DIR: never in the workspace,
 * where the thread's own programs could rewrite them.
 */
export class ThreadSettings {
  private readonly state: z.infer<typeof StoredSchema>;
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, "thread-settings.json");
    this.state = readJsonState(this.file, StoredSchema, { network: {} });
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
}
