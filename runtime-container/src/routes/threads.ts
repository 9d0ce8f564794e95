import { Hono } from "hono";
import { AppError, ErrorCode, type RuntimeHealth, ThreadSetupSchema } from "../../../shared/src/index.ts";
import { withThreadStopped } from "../executions/stop-thread.ts";
import { removeMountView } from "../mounts/thread-binds.ts";
import { jsonBody } from "../server/request.ts";
import { threadOf } from "../server/thread.ts";
import type { Services } from "../services.ts";
import { endTerminals, openTerminals, terminalReports } from "../terminal/terminal-socket.ts";

/** Workspace lifecycle and runtime health. */
export function threadRoutes(s: Services): Hono {
  const app = new Hono();

  app.get("/health", (c) => {
    const storage = s.storage.health();
    const health: RuntimeHealth = {
      ok: storage.ok,
      version: "0.1.0",
      isolation: s.sandbox.backend.name,
      python: s.config.PYTHON_BIN,
      uptime_s: Math.round((Date.now() - s.startedAt) / 1000),
      running_executions: s.executions.size,
      degraded: s.sandbox.report.degraded,
      missing_layers: s.sandbox.report.missing,
      disk: s.quota.report(),
      caches: s.caches.report(),
    };
    // A runtime that lost its storage cannot serve threads: the 503 tells the worker to place them elsewhere.
    return c.json({ ...health, layers: s.sandbox.report, storage }, storage.ok ? 200 : 503);
  });

  /**
   * Creates and configures the workspace (idempotent); `network` and `import_policy` (optional body) are kept with
   * the thread (an `import_policy` of null clears it).
   */
  app.post("/threads/:tenant/:thread", async (c) => {
    const setup = await jsonBody(c, ThreadSetupSchema);
    const loc = threadOf(c, s);
    if (setup.network) s.sandbox.settings.setNetwork(loc.key, setup.network);
    if (setup.import_policy !== undefined) s.sandbox.settings.setImportPolicy(loc.key, setup.import_policy);
    if (setup.mounts !== undefined) {
      // A mount the tenant never defined is refused at creation (MOUNT_NOT_FOUND), not found empty later.
      await s.mounts.requireAll(loc.tenant, setup.mounts.map((m) => m.name));
      s.sandbox.settings.setMounts(loc.key, setup.mounts);
    }
    await s.workspaces.ensure(loc);
    const network = s.sandbox.settings.networkView(loc.key);
    const importPolicy = s.sandbox.settings.importPolicy(loc.key);
    return c.json({
      ...(await s.workspaces.info(loc)),
      contexts: await s.contexts.list(loc),
      network,
      import_policy: importPolicy,
      mounts: s.sandbox.settings.mounts(loc.key),
      disk: await s.quota.usage(loc),
    });
  });

  app.get("/threads/:tenant/:thread", async (c) => {
    const loc = threadOf(c, s);
    if (!(await s.workspaces.exists(loc))) throw new AppError(ErrorCode.THREAD_NOT_FOUND, `thread ${loc.thread} has no workspace`);
    const terminals = openTerminals(loc.key);
    const terminal_sessions = terminalReports(loc.key);
    return c.json({ ...(await s.workspaces.info(loc)), contexts: await s.contexts.list(loc), disk: await s.quota.usage(loc), terminals, terminal_sessions });
  });

  /** Idle thread: release what the runtime holds for it between calls (its contexts, display and network namespace). */
  app.post("/threads/:tenant/:thread/release", async (c) => {
    const loc = threadOf(c, s);
    // Its background processes end with the release (the worker releases only a thread with none running).
    const processes = await s.processes.release(loc);
    const contexts = s.contexts.release(loc);
    const display = s.displays.release(loc);
    s.sandbox.releaseThread(loc.key);
    s.logger.info("thread released", { tenant: loc.tenant, thread_id: loc.thread, contexts, display, processes });
    return c.json({ released: true, contexts, display, processes });
  });

  /** Stops everything of the thread and waits until it is dead, then removes its workspace, tmp dirs and venv. */
  app.delete("/threads/:tenant/:thread", async (c) => {
    const loc = threadOf(c, s);
    // Its terminals first: each holds the uid (no sweep while it lives) and would outlive the workspace.
    await endTerminals(loc.key);
    const existed = await withThreadStopped(s, loc, async () => {
      const there = await s.workspaces.exists(loc);
      await s.workspaces.remove(loc);
      await s.checkpoints.removeAll(loc);
      return there;
    });
    s.quota.forget(loc);
    s.sandbox.releaseThread(loc.key);
    // A thread made again under this id starts without the mounts of this one.
    s.sandbox.settings.setMounts(loc.key, []);
    await removeMountView(s.config.STATE_DIR, loc);
    // Its egress secrets' values go with it (a thread created again under the id brings its own).
    s.sandbox.settings.setSecrets(loc.key, []);
    return c.json({ deleted: existed });
  });

  return app;
}
