import type { RuntimeConfig } from "../config.ts";
import { type AllowList, allowanceFor, mergeAllowLists } from "./network/cidr.ts";
import { checkNetworkLayers } from "./network/self-test.ts";
import { cgroupV2, checkHelper, ioUringState, type LayerReport, namespaces, protectedHardlinks, uidSwitchWorks } from "./self-test.ts";
import { nondumpableBeside, tracerProtected } from "./tracer.ts";
import type { Layers } from "./wrap.ts";

/** A required layer is missing and ALLOW_DEGRADED_ISOLATION is not set: the runtime must not start. */
export class IsolationError extends Error {
  override readonly name = "IsolationError";
}

/** SANDBOX_NET_ALLOW, and the package indexes the runtime points sandboxes at (a local mirror may be on loopback). */
export function sandboxAllowList(config: RuntimeConfig): AllowList {
  return mergeAllowLists(
    config.SANDBOX_NET_ALLOW,
    allowanceFor(config.PIP_INDEX_URL),
    allowanceFor(config.PIP_EXTRA_INDEX_URL),
    allowanceFor(config.NPM_REGISTRY_URL),
  );
}

export interface SelfTest {
  /** Everything but what the Sandbox adds (uid range, sweep, cgroups). */
  report: Omit<LayerReport, "uid_range" | "uid_sweep" | "cgroups" | "cgroup_limits" | "cgroup_problem">;
  layers: Layers;
}

/**
 * What this host gives each run, each checked in a real process: the launcher and its filter, the uid switch, the
 * pid and ipc namespaces, the tracer's protection (proot), a thread's network namespace with its egress rules and
 * user-mode stack, protected hard links. Required and missing ones are listed in `missing`.
 */
export async function runSelfTest(config: RuntimeConfig, backend: LayerReport["backend"], isRoot: boolean, uid: number | null): Promise<SelfTest> {
  const isolated = backend !== "none";
  const proot = backend === "proot";
  const helper = await checkHelper(config.SECCOMP_HELPER, isRoot);
  const launcher = helper.ok ? config.SECCOMP_HELPER : null;
  const [uidSwitch, ns] = await Promise.all([uid === null ? false : uidSwitchWorks(launcher, uid), namespaces(isRoot, uid)]);
  const nondumpable = launcher ? nondumpableBeside(launcher) : null;

  const pidNamespace = proot && config.PID_NAMESPACE !== "off" && (launcher ? helper.pidNamespace : ns.pid);
  if (proot && config.PID_NAMESPACE === "on" && !pidNamespace) {
    throw new IsolationError("PID_NAMESPACE=on but the launcher cannot make a pid namespace here (it needs root)");
  }
  const ipcNamespace = backend === "bwrap" || (proot && (pidNamespace || (launcher !== null && helper.ipcNamespace)));
  const tracer = !proot
    ? null
    : launcher !== null && nondumpable !== null && uid !== null && uidSwitch
      ? await tracerProtected(launcher, config.PROOT_BIN, nondumpable, uid, pidNamespace)
      : false;
  const network =
    isolated && isRoot && launcher
      ? await checkNetworkLayers({ launcher, allow: sandboxAllowList(config) })
      : { net_namespace: false, egress_filter: false, user_mode_stack: null, problems: ["network namespace: needs root and the launcher"] };
  const hardlinks = protectedHardlinks();

  const missing: string[] = [];
  if (!isolated) missing.push("sandbox backend (ISOLATION=none)");
  if (!helper.ok) missing.push(`seccomp: ${helper.problem}`);
  if (isolated && !uidSwitch) missing.push(isRoot ? "uid switch: the launcher cannot change uid here" : "uid switch: the runtime is not root");
  if (isolated) missing.push(...network.problems);
  if (tracer === false) {
    missing.push(
      !launcher || uid === null
        ? "tracer protection: needs the launcher and the uid switch"
        : nondumpable
          ? "tracer protection: proot stays reachable from the programs it traces (or does not run under the launcher)"
          : "tracer protection: nondumpable.so is missing beside the launcher; build it with scripts/setup.sh",
    );
  }
  if (isolated && !ipcNamespace) missing.push("ipc namespace: the launcher cannot make one here (it needs root)");
  if (isolated && !hardlinks) {
    missing.push("protected hard links: fs.protected_hardlinks is not 1, so a sandbox could hard-link root-only host files (sysctl fs.protected_hardlinks=1)");
  }

  const { problems: _, ...networkLayers } = network;
  return {
    report: {
      backend,
      uid_switch: uidSwitch,
      seccomp: isolated && helper.ok,
      rlimits: isolated && helper.ok,
      pid_namespace: pidNamespace || backend === "bwrap",
      ipc_namespace: isolated && ipcNamespace,
      ...networkLayers,
      tracer_protected: tracer,
      protected_hardlinks: hardlinks,
      user_namespaces: ns.user,
      landlock_abi: helper.host?.landlock_abi ?? null,
      ...cgroupV2(isRoot),
      io_uring_host: ioUringState(helper.host),
      degraded: missing.length > 0,
      missing,
    },
    layers: { helper: launcher, nondumpable, pidNamespace, ipcNamespace: launcher !== null && helper.ipcNamespace, netNamespace: ns.net },
  };
}
