import type { RuntimeConfig } from "../config.ts";
import type { Owner } from "../files/safe-open.ts";
import type { Logger } from "../logger.ts";
import type { HostCommand, SandboxBackend, SandboxSpec } from "./backend.ts";
import { createBwrapBackend } from "./bwrap.ts";
import { claimIdSlot } from "./id-slot.ts";
import { Identities } from "./identities.ts";
import { createNoneBackend } from "./none.ts";
import { createProotBackend } from "./proot.ts";
import { type LayerReport, cgroupV2, checkHelper, ioUringState, namespaces, works } from "./self-test.ts";
import { UidSweeper } from "./sweep.ts";
import { ThreadSettings } from "./thread-settings.ts";
import { type Layers, type RunIdentity, type SpawnSpec, wrapCommand } from "./wrap.ts";

export interface PreparedCommand extends SpawnSpec, Pick<HostCommand, "cleanup"> {
  /**
   * Call when the process tree has ended (spawnTree does on exit): the last tree of a uid to end triggers its sweep.
   * Idempotent; resolves when that sweep is done.
   */
  release?: () => Promise<void>;
}

export interface Sandbox {
  readonly backend: SandboxBackend;
  /** The self-test's findings (`/health` → layers). */
  readonly report: LayerReport;
  readonly settings: ThreadSettings;
  /** The thread's uid and its tenant's gid; null when uids cannot be switched here. */
  ownerOf(tenant: string, thread: string): Owner;
  /** The host command line for a guest command, every layer applied. */
  prepare(spec: Omit<SandboxSpec, "network">, run: RunIdentity): Promise<PreparedCommand>;
  /**
   * Marks a long-lived host process running as the thread's uid outside any sandbox tree (its display server), so
   * the uid is not swept while it lives; call the returned function when it has exited.
   */
  hold(owner: Owner): Promise<() => Promise<void>>;
  /** Waits for uid sweeps in progress. */
  settle(): Promise<void>;
  /** Gives the id slot back (shutdown). */
  close(): void;
}

/** A required layer is missing and ALLOW_DEGRADED_ISOLATION is not set: the runtime must not start. */
export class IsolationError extends Error {
  override readonly name = "IsolationError";
}

function createBackend(config: RuntimeConfig): SandboxBackend {
  if (config.ISOLATION === "proot") return createProotBackend(config.PROOT_BIN);
  if (config.ISOLATION === "bwrap") return createBwrapBackend(config.BWRAP_BIN);
  return createNoneBackend();
}

/**
 * Start-up self-test: which layers this host supports. A missing required layer (uid switch, seccomp filter) stops
 * the runtime with the reason, unless ALLOW_DEGRADED_ISOLATION is set: then it starts and every health answer says
 * `degraded: true` with what is missing. ISOLATION=none is degraded by definition (development only).
 */
export async function createSandbox(config: RuntimeConfig, logger: Logger): Promise<Sandbox> {
  const backend = createBackend(config);
  const isolated = backend.name !== "none";
  if (isolated) {
    const bin = backend.name === "proot" ? config.PROOT_BIN : config.BWRAP_BIN;
    if (!(await works(bin, ["--version"]))) {
      throw new IsolationError(`isolation backend ${backend.name}: "${bin} --version" failed; install it (scripts/setup.sh does)`);
    }
  }
  const isRoot = process.getuid?.() === 0;
  const helper = await checkHelper(config.SECCOMP_HELPER);
  const missing: string[] = [];
  if (!isolated) missing.push("sandbox backend (ISOLATION=none)");
  if (!helper.ok) missing.push(`seccomp: ${helper.problem}`);
  const slot = isolated && isRoot ? claimIdSlot(config.UID_CLAIMS_DIR, config.SANDBOX_UID_BASE, config.SANDBOX_ID_RANGE) : null;
  const uidWorks = slot !== null && (await works("setpriv", [`--reuid=${slot.first}`, `--regid=${slot.first}`, "--clear-groups", "--", "true"]));
  if (isolated && !uidWorks) missing.push(isRoot ? "uid switch: setpriv cannot change uid here" : "uid switch: the runtime is not root");
  if (slot && !uidWorks) slot.release();
  const identities = uidWorks && slot ? new Identities(config.STATE_DIR, slot) : null;

  const ns = await namespaces(isRoot, identities?.range.first ?? null);
  const pidNamespace = backend.name === "proot" && config.PID_NAMESPACE !== "off" && ns.pid_namespace;
  if (backend.name === "proot" && config.PID_NAMESPACE === "on" && !pidNamespace) {
    throw new IsolationError("PID_NAMESPACE=on but `unshare --pid` does not work here (it needs root)");
  }
  const sweeper = identities ? new UidSweeper(helper.ok ? config.SECCOMP_HELPER : null, identities.range, logger) : null;
  const report: LayerReport = {
    backend: backend.name,
    uid_switch: identities !== null,
    uid_range: identities?.range ?? null,
    seccomp: isolated && helper.ok,
    rlimits: isolated && helper.ok,
    pid_namespace: pidNamespace || backend.name === "bwrap",
    net_namespace: ns.net_namespace || (backend.name === "bwrap" && ns.user_namespaces),
    user_namespaces: ns.user_namespaces,
    uid_sweep: sweeper !== null,
    landlock_abi: helper.host?.landlock_abi ?? null,
    ...cgroupV2(isRoot),
    io_uring_host: ioUringState(helper.host),
    degraded: missing.length > 0,
    missing,
  };
  if (missing.length > 0 && isolated && !config.ALLOW_DEGRADED_ISOLATION) {
    slot?.release();
    throw new IsolationError(
      `required isolation layers are missing:\n  - ${missing.join("\n  - ")}\n` +
        "Run the runtime as root (in its container) with scripts/setup.sh done, or set ALLOW_DEGRADED_ISOLATION=1 " +
        "to start anyway (development only: untrusted code could then reach the server and other threads).",
    );
  }
  logger.info("sandbox layers", { ...report });
  if (!isolated) logger.warn("ISOLATION=none: user code runs on the host, unconfined (development only)");
  else if (report.degraded) logger.warn("DEGRADED ISOLATION: required layers are missing (ALLOW_DEGRADED_ISOLATION is set)", { missing });
  sweeper?.sweepAll();

  const layers: Layers = { helper: isolated && helper.ok ? config.SECCOMP_HELPER : null, pidNamespace, netNamespace: ns.net_namespace };
  return {
    backend,
    report,
    settings: new ThreadSettings(config.STATE_DIR),
    ownerOf: (tenant, thread) => identities?.ownerOf(tenant, thread) ?? null,
    async prepare(spec, run) {
      const release = run.owner && sweeper ? await sweeper.acquire(run.owner.uid) : undefined;
      try {
        const cmd = await backend.command({ ...spec, network: run.network });
        return { ...wrapCommand(cmd, layers, backend.name, run), cleanup: cmd.cleanup, release };
      } catch (err) {
        await release?.();
        throw err;
      }
    },
    hold: async (owner) => (owner && sweeper ? sweeper.acquire(owner.uid) : async () => undefined),
    settle: async () => sweeper?.settle(),
    close: () => slot?.release(),
  };
}
