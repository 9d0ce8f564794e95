import { existsSync } from "node:fs";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import type { RuntimeConfig } from "../config.ts";
import type { Owner } from "../files/safe-open.ts";
import type { Logger } from "../logger.ts";
export { IsolationError } from "./layers.ts";
import type { HostCommand, SandboxBackend, SandboxSpec } from "./backend.ts";
import { createBwrapBackend } from "./bwrap.ts";
import { noCgroups, openCgroups } from "./cgroup-detect.ts";
import type { CgroupEvents } from "./cgroups.ts";
import { claimIdSlot } from "./id-slot.ts";
import { Identities } from "./identities.ts";
import { type NetworkLease, ThreadNetworks } from "./network/thread-networks.ts";
import type { EgressSource } from "./network/egress-proxy.ts";
import type { NamespaceMode } from "./network/namespace.ts";
import { readEgressCa } from "./network/egress-ca.ts";
import { createNoneBackend } from "./none.ts";
import { createProotBackend } from "./proot.ts";
import { type Tools, bunCommand, findTools } from "./tools.ts";
import { type LayerReport, works } from "./self-test.ts";
import { IsolationError, runSelfTest, sandboxAllowList } from "./layers.ts";
import { UidSweeper } from "./sweep.ts";
import { type RunCgroup, ThreadCgroups } from "./thread-cgroups.ts";
import { ThreadSettings } from "./thread-settings.ts";
import { type RunIdentity, type SpawnSpec, hostProcessPrefix, wrapCommand } from "./wrap.ts";

export interface PreparedCommand extends SpawnSpec, Pick<HostCommand, "cleanup"> {
  /**
   * Call when the process tree has ended (spawnTree does on exit): the last tree of a uid to end triggers its sweep,
   * and the thread's network namespace may be released once idle. Idempotent; resolves when that sweep is done.
   */
  release?: () => Promise<void>;
  /**
   * What the run's cgroup refused so far (processes the OOM killer took, forks refused at pids.max); the final count
   * once the tree has ended. Absent when the run has no group (no usable cgroups here).
   */
  cgroupEvents?: () => Promise<CgroupEvents>;
}

/** A host process of a thread outside any sandbox (its display server): how to start it, and its release. */
export interface HostProcess {
  /** Put in front of the program's argv: the thread's uid, its network namespace, no_new_privs, parent death. */
  prefix: string[];
  /** Call when it has exited. */
  release: () => Promise<void>;
}

export interface Sandbox {
  readonly backend: SandboxBackend;
  /** The self-test's findings (`/health` → layers). */
  readonly report: LayerReport;
  readonly settings: ThreadSettings;
  /** The guest command that runs Bun in this runtime's sandboxes (tools.ts); null: they have none. */
  readonly bun: string | null;
  /** The thread's uid and its tenant's gid; null when uids cannot be switched here. */
  ownerOf(tenant: string, thread: string): Owner;
  /** The host command line for a guest command, every layer applied. */
  prepare(spec: Omit<SandboxSpec, "unshareNet">, run: RunIdentity): Promise<PreparedCommand>;
  /**
   * A long-lived host process running as the thread's uid outside any sandbox tree (its display server), in the
   * thread's network namespace; the uid is not swept and the namespace not released while it lives.
   */
  hostProcess(owner: Owner, network: NamespaceMode, egress?: EgressSource): Promise<HostProcess>;
  /**
   * The launcher's command line that connects to 127.0.0.1:port inside the thread's own network namespace, as its
   * uid, and relays stdio (a preview URL's connection); release when it has exited. NOT_IMPLEMENTED where the thread
   * has no namespace of its own: its loopback would be the host's.
   */
  portRelay(owner: Owner, network: NamespaceMode, port: number): Promise<HostProcess>;
  /** The thread (`tenant/thread`) is released or deleted: its network namespace goes now. */
  releaseThread(key: string): boolean;
  /** Waits for uid sweeps in progress. */
  settle(): Promise<void>;
  /** Ends the network namespaces, kills and removes the runtime's cgroups, gives the id slot back (shutdown). */
  close(): Promise<void>;
}

function createBackend(config: RuntimeConfig, tools: Tools): SandboxBackend {
  if (config.ISOLATION === "proot") return createProotBackend(config.PROOT_BIN, tools.dir);
  if (config.ISOLATION === "bwrap") return createBwrapBackend(config.BWRAP_BIN, tools.dir);
  return createNoneBackend(tools.dir);
}

/**
 * Resolves once: the run's cgroup killed and removed (whatever of the run is left, wherever it went), the network
 * lease (synchronous), then the uid sweep.
 */
function releaseAll(
  logger: Logger,
  lease: NetworkLease | undefined,
  group: RunCgroup | null,
  sweep: (() => Promise<void>) | undefined,
): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () =>
    (done ??= (async () => {
      // A group that cannot be removed (a process that will not die) is logged; the sweep still runs.
      await group?.leave().catch((err: unknown) => logger.error("a run's cgroup could not be removed", { dirs: group.dirs, error: String(err) }));
      lease?.release();
      await sweep?.();
    })());
}

/**
 * Start-up self-test (layers.ts), then the Sandbox service. A missing required layer stops the runtime with the
 * reason, unless ALLOW_DEGRADED_ISOLATION is set: then it starts and every health answer says `degraded: true`
 * with what is missing. ISOLATION=none is degraded by definition (development only).
 */
export async function createSandbox(config: RuntimeConfig, logger: Logger): Promise<Sandbox> {
  const tools = findTools(config.TOOLS_DIR);
  if (tools.problem) logger.warn("TOOLS_DIR is not shown to sandboxes (no bun there)", { problem: tools.problem });
  const backend = createBackend(config, tools);
  const isolated = backend.name !== "none";
  if (isolated) {
    const bin = backend.name === "proot" ? config.PROOT_BIN : config.BWRAP_BIN;
    if (!(await works(bin, ["--version"]))) {
      throw new IsolationError(`isolation backend ${backend.name}: "${bin} --version" failed; install it (scripts/setup.sh does)`);
    }
  }
  const isRoot = process.getuid?.() === 0;
  const slot = isolated && isRoot ? claimIdSlot(config.UID_CLAIMS_DIR, config.SANDBOX_UID_BASE, config.SANDBOX_ID_RANGE) : null;
  const found = await runSelfTest(config, backend.name, isRoot, slot?.first ?? null);
  if (slot && !found.report.uid_switch) slot.release();
  const identities = found.report.uid_switch && slot ? new Identities(config.STATE_DIR, slot) : null;
  const sweeper = identities ? new UidSweeper(found.layers.helper, identities.range, logger) : null;
  // Named with the id slot's first uid: unique among the runtimes on this host, and the same for the next runtime of
  // the slot, which removes what this one left if it dies.
  const cgroupTree = identities
    ? await openCgroups(`threadbox-${identities.range.first}`, { prefer: config.CGROUPS })
    : noCgroups("needs the uid switch (a runtime as root with an id slot)");
  const report: LayerReport = {
    ...found.report,
    uid_range: identities?.range ?? null,
    uid_sweep: sweeper !== null,
    cgroups: cgroupTree.report.mode,
    cgroup_limits: cgroupTree.report.limits,
    cgroup_problem: cgroupTree.report.problem,
  };
  if (report.missing.length > 0 && isolated && !config.ALLOW_DEGRADED_ISOLATION) {
    await cgroupTree.destroy();
    slot?.release();
    throw new IsolationError(
      `required isolation layers are missing:\n  - ${report.missing.join("\n  - ")}\n` +
        "Run the runtime as root (in its container) with scripts/setup.sh done, or set ALLOW_DEGRADED_ISOLATION=1 " +
        "to start anyway (development only: untrusted code could then reach the server and other threads).",
    );
  }
  logger.info("sandbox layers", { ...report });
  if (!isolated) logger.warn("ISOLATION=none: user code runs on the host, unconfined (development only)");
  else if (report.degraded) logger.warn("DEGRADED ISOLATION: required layers are missing (ALLOW_DEGRADED_ISOLATION is set)", { missing: report.missing });
  sweeper?.sweepAll();
  const ceiling = { memoryMb: config.THREAD_MEMORY_MB, processes: config.THREAD_PROCESSES, cpus: config.THREAD_CPUS };
  const cgroups = new ThreadCgroups(cgroupTree, ceiling);
  const unheld = (["memory", "pids", "cpu"] as const).filter((c, i) => [ceiling.memoryMb, ceiling.processes, ceiling.cpus][i] !== undefined && !report.cgroup_limits[c]);
  if (unheld.length > 0) logger.warn("thread ceilings set without the cgroup controller to hold them", { controllers: unheld, problem: report.cgroup_problem });
  // With a run's processes counted in its own group, RLIMIT_NPROC (per uid: all of the thread's processes together)
  // bounds the thread as a whole: its ceiling, or the default per-run limit when it has none (as without cgroups for
  // default runs), or the run's own `processes` when it asked for more.
  const threadNproc = config.THREAD_PROCESSES ?? config.LIMIT_PROCESSES;

  const { layers } = found;
  const networks =
    isolated && report.net_namespace && layers.helper
      ? new ThreadNetworks(
          {
            launcher: layers.helper,
            allow: sandboxAllowList(config),
            proxy: { hosts: config.EGRESS_HOSTS, ca: readEgressCa(config.EGRESS_CA_FILE), log: (msg, fields) => logger.debug(msg, fields) },
          },
          config.SANDBOX_NET_IDLE_S * 1000,
          logger,
        )
      : null;
  // A "default" thread gets a namespace only when its way out works; otherwise (degraded) it shares the host's.
  const ownNamespace = (network: NamespaceMode) => networks !== null && (network === "none" || report.user_mode_stack !== null);
  const acquire = async (owner: Owner, network: NamespaceMode, egress?: EgressSource) => {
    if (owner && networks && ownNamespace(network)) return networks.acquire(owner.uid, network, egress);
    // Without its namespace a thread under a policy would reach everything: refused, never run unfiltered.
    if (network === "proxy") throw new AppError(ErrorCode.NOT_IMPLEMENTED, "this thread has a network policy, but this runtime cannot make network namespaces with a user-mode stack (it needs root and slirp4netns)");
    return undefined;
  };

  const hostLoopbackPorts = new Set(sandboxAllowList(config).loopbackPorts);
  const sandbox: Sandbox = {
    backend,
    report,
    settings: new ThreadSettings(config.STATE_DIR),
    bun: bunCommand(tools, existsSync),
    ownerOf: (tenant, thread) => identities?.ownerOf(tenant, thread) ?? null,
    async prepare(spec, run) {
      const sweep = run.owner && sweeper ? await sweeper.acquire(run.owner.uid) : undefined;
      let lease: NetworkLease | undefined;
      let group: RunCgroup | null = null;
      let cmd: HostCommand | undefined;
      try {
        lease = await acquire(run.owner, run.network, run.egress);
        // The run's own group, for the whole run: its memory and its processes, however many there are.
        if (run.thread) group = await cgroups.enter(run.thread.tenant, run.thread.thread, { memoryMb: run.limits.memoryMb, processes: run.limits.processes });
        const netns = lease?.path ?? null;
        cmd = await backend.command({ ...spec, unshareNet: run.network === "none" && netns === null });
        const nproc = group && report.cgroup_limits.pids ? Math.max(run.limits.processes, threadNproc) : undefined;
        const spawn = wrapCommand(cmd, layers, backend.name, run, { netns, cgroups: group?.dirs ?? [], nproc });
        const runGroup = group;
        return {
          ...spawn,
          cleanup: cmd.cleanup,
          release: releaseAll(logger, lease, group, sweep),
          ...(runGroup ? { cgroupEvents: () => runGroup.events() } : {}),
        };
      } catch (err) {
        await cmd?.cleanup?.();
        await releaseAll(logger, lease, group, sweep)();
        throw err;
      }
    },
    async hostProcess(owner, network, egress) {
      const sweep = owner && sweeper ? await sweeper.acquire(owner.uid) : undefined;
      let lease: NetworkLease | undefined;
      try {
        lease = await acquire(owner, network, egress);
      } catch (err) {
        await sweep?.();
        throw err;
      }
      return { prefix: hostProcessPrefix(layers, owner, lease?.path ?? null), release: releaseAll(logger, lease, null, sweep) };
    },
    async portRelay(owner, network, port) {
      if (!owner || !layers.helper || !ownNamespace(network)) {
        throw new AppError(ErrorCode.NOT_IMPLEMENTED, "preview URLs need the thread's own network namespace (a runtime as root with the native launcher)");
      }
      // In a "default" namespace, 127.0.0.1 on an allowlisted port is forwarded to the host's loopback (egress-rules.ts):
      // a preview URL there would publish the host's service, not the sandbox's.
      if (network === "default" && hostLoopbackPorts.has(port)) {
        throw new AppError(ErrorCode.FORBIDDEN, `port ${port} of the sandbox's loopback leads to a service of the host (SANDBOX_NET_ALLOW); it cannot be previewed`, { port });
      }
      const host = await sandbox.hostProcess(owner, network);
      const netns = host.prefix.find((a: string) => a.startsWith("--netns="));
      if (!netns) {
        await host.release();
        throw new AppError(ErrorCode.NOT_IMPLEMENTED, "the thread has no network namespace of its own here");
      }
      return { prefix: [layers.helper, netns, `--uid=${owner.uid}`, `--gid=${owner.gid}`, `--connect=${port}`], release: host.release };
    },
    releaseThread(key) {
      const uid = identities?.uidOf(key);
      return uid != null && networks !== null && networks.releaseUid(uid);
    },
    settle: async () => sweeper?.settle(),
    async close() {
      networks?.closeAll();
      await cgroupTree.destroy().catch((err: unknown) => logger.error("the runtime's cgroups could not be removed", { error: String(err) }));
      slot?.release();
    },
  };
  return sandbox;
}
