import { serve } from "@hono/node-server";
import { ConfigError, DEFAULT_DEV_SECRET, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
import { createSandbox } from "./sandbox/create.ts";
import { createApp } from "./server/app.ts";
import { createServices } from "./services.ts";
import { prepareRoots } from "./workspace/roots.ts";

/** Entry point: parse config, self-test the sandbox layers, serve on the configured address. */
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
  const logger = createLogger(config.LOG_LEVEL, { service: "runtime" });
  const sandbox = await createSandbox(config, logger).catch((err: Error) => {
    process.stderr.write(`threadbox runtime: sandbox self-test failed: ${err.message}\n`);
    process.exit(1);
  });
  await prepareRoots([config.WORKSPACES_ROOT, config.STATE_DIR], sandbox.layers.uid).catch((err: Error) => {
    process.stderr.write(`threadbox runtime: ${err.message}\n`);
    process.exit(1);
  });
  const services = createServices(config, logger, sandbox);
  const app = createApp(services);
  const server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) => {
    const url = `http://${info.family === "IPv6" ? `[${info.address}]` : info.address}:${info.port}`;
    logger.info("runtime listening", { url, isolation: sandbox.backend.name, workspaces: config.WORKSPACES_ROOT });
    process.stdout.write(`threadbox runtime listening on ${url}\n`);
    process.stdout.write(`  workspaces: ${config.WORKSPACES_ROOT}\n  isolation:  ${sandbox.backend.name}\n`);
    if (config.HMAC_SECRET === DEFAULT_DEV_SECRET) {
      process.stdout.write(`  HMAC_SECRET is the built-in development secret "${DEFAULT_DEV_SECRET}"\n`);
    }
    process.stdout.write(`  try: node --import tsx scripts/runtime-call.mts POST /threads/demo/t1/exec '{"command":"echo hi"}'\n`);
  });
  const stop = (signal: string) => {
    logger.info("shutting down", { signal });
    services.executions.cancelAll();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

void main();
