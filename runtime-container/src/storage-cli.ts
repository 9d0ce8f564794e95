import { chown, mkdir } from "node:fs/promises";
import path from "node:path";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
import { dropStorageSecrets } from "./storage/config.ts";
import { MountedStorage } from "./storage/mounted.ts";
import { PROBE_DIR } from "./storage/probe.ts";
import { mountsRoot } from "./mounts/mount-store.ts";

/*
 * The image's entrypoint mounts the bucket with the runtime's own code (same s3fs options as its remounts):
 *   node --import tsx runtime-container/src/storage-cli.ts mount [--owner=UID:GID]
 *   node --import tsx runtime-container/src/storage-cli.ts check
 * `mount` mounts (or adopts a working mount) and probes it; `--owner` hands the directories the server writes on the
 * mount (WORKSPACES_ROOT, the mounts beside it, the probe objects) to a non-root server.
 * `check` only probes. Both print the storage health as one JSON line and exit 0, or print why not and exit 1.
 */
async function main(args: string[]): Promise<number> {
  const command = args[0];
  if (command !== "mount" && command !== "check") {
    process.stderr.write("usage: storage-cli.ts mount [--owner=UID:GID] | check\n");
    return 2;
  }
  const config = loadConfig(process.env);
  dropStorageSecrets(process.env);
  if (config.storage.mode === "local") {
    process.stdout.write(`${JSON.stringify({ mode: "local", ok: true })}\n`);
    return 0;
  }
  const logger = createLogger(config.LOG_LEVEL, { service: "storage" });
  const storage = new MountedStorage({ ...config.storage, mountBy: command === "mount" ? "runtime" : "external" }, logger);
  await storage.start();
  storage.stop();
  const owner = /^--owner=(\d+):(\d+)$/.exec(args.find((a) => a.startsWith("--owner=")) ?? "");
  if (owner) {
    // A non-root server creates workspaces, tenants' mounts and probe objects: those directories become its own.
    for (const dir of [config.WORKSPACES_ROOT, mountsRoot(config.WORKSPACES_ROOT), path.join(config.storage.mountDir, PROBE_DIR)]) {
      await mkdir(dir, { recursive: true, mode: 0o711 });
      await chown(dir, Number(owner[1]), Number(owner[2]));
    }
  }
  process.stdout.write(`${JSON.stringify(storage.health())}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`threadbox storage: ${message}\n`);
    process.exit(1);
  },
);
