import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { AppError, ErrorCode, KNOWN_BAD_DEV_SECRET } from "../../shared/src/index.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
import { createSandbox } from "./sandbox/create.ts";
import { createApp, signatureCheck } from "./app.ts";
import { attachUpgrades } from "./server/upgrades.ts";
import { createServices } from "./services.ts";
import { dropStorageSecrets } from "./storage/config.ts";
import { createStorage } from "./storage/gate.ts";
import { prepareRoots } from "./workspace/roots.ts";
import { mountsRoot } from "./mounts/mount-store.ts";

/** Entry point: parse config, mount storage, self-test the sandbox layers, serve (or only report with --self-test). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`threadbox runtime: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  dropStorageSecrets(process.env);
  const logger = createLogger(config.LOG_LEVEL, { service: "runtime" });
  // The bucket is mounted (or verified) first: WORKSPACES_ROOT lives on it.
  const storage = createStorage(config, logger);
  await storage.start().catch((err: Error) => {
    process.stderr.write(`threadbox runtime: storage unavailable: ${err.message}\n`);
    process.exit(1);
  });
  const sandbox = await createSandbox(config, logger).catch((err: Error) => {
    process.stderr.write(`threadbox runtime: sandbox self-test failed: ${err.message}\n`);
    process.exit(1);
  });
  // The mounts root too: sandboxes (as their uids) bind mounts from below it, so they must traverse it.
  await prepareRoots([config.WORKSPACES_ROOT, config.STATE_DIR, mountsRoot(config.WORKSPACES_ROOT)], sandbox.report.uid_switch).catch((err: Error) => {
    process.stderr.write(`threadbox runtime: ${err.message}\n`);
    process.exit(1);
  });
  const services = createServices(config, logger, sandbox, storage);
  if (process.argv.includes("--self-test")) {
    // The image's entrypoint runs this before serving: everything started, nothing served.
    process.stdout.write(`${JSON.stringify({ ok: true, isolation: sandbox.backend.name, layers: sandbox.report, storage: storage.health() })}\n`);
    await sandbox.close();
    process.exit(0);
  }
  const check = signatureCheck(services);
  const app = createApp(services, check);
  const server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) => {
    const url = `http://${info.family === "IPv6" ? `[${info.address}]` : info.address}:${info.port}`;
    logger.info("runtime listening", { url, isolation: sandbox.backend.name, workspaces: config.WORKSPACES_ROOT });
    process.stdout.write(`threadbox runtime listening on ${url}\n`);
    process.stdout.write(`  workspaces: ${config.WORKSPACES_ROOT}\n  isolation:  ${sandbox.backend.name}\n`);
    if (config.HMAC_SECRET === KNOWN_BAD_DEV_SECRET) {
      process.stdout.write("  WARNING: HMAC_SECRET is the published development secret (allowed by NODE_ENV=development)\n");
    }
    process.stdout.write(`  try: node --import tsx scripts/runtime-call.mts POST /threads/demo/t1/exec '{"command":"echo hi"}'\n`);
  });
  attachUpgrades(server as Server, services, check);
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal (signal-exit re-raises SIGTERM for execa children such as Xvfb) must not end the shutdown early.
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    // Runs in flight end with an error event: they did not finish, and a made-up result would be a lie.
    services.executions.failAll(new AppError(ErrorCode.RUNTIME_UNAVAILABLE, "the runtime is shutting down; the execution was stopped"));
    storage.stop();
    services.displays.stopAll();
    // Whatever is left of the runs (and the contexts) goes with the runtime's cgroups.
    const closed = sandbox.close();
    server.close(() => void closed.finally(() => process.exit(0)));
    // Keep-alive connections would hold close() for their idle timeout; open streams get a moment to flush their end.
    const http = server as Server;
    http.closeIdleConnections();
    setTimeout(() => http.closeAllConnections(), 1000).unref();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

void main();
