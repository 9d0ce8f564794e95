import { execa } from "execa";
import type { NetworkMode } from "../../../../shared/src/index.ts";
import type { AllowList } from "./cidr.ts";
import { currentPolicy, egressRuleset } from "./egress-rules.ts";
import { type EgressProxy, type EgressSource, type ProxyOptions, startEgressProxy } from "./egress-proxy.ts";
import { START_TIMEOUT_MS, startHolder } from "./holder.ts";
import { proxyRuleset } from "./proxy-rules.ts";
import { startSlirp } from "./slirp.ts";

/** Which part of a namespace's set-up failed (the self-test reports each as a layer). */
export class NetworkSetupError extends Error {
  override readonly name = "NetworkSetupError";
  constructor(
    readonly layer: "namespace" | "egress" | "stack",
    message: string,
  ) {
    super(message);
  }
}

export interface NetworkSetup {
  /** The native launcher, which also holds namespaces (`--hold-netns`). */
  launcher: string;
  /** What a "default" sandbox may reach although it is private, the host's, or on the host's loopback. */
  allow: AllowList;
  /** The egress proxies' settings (EGRESS_HOSTS, EGRESS_CA_FILE); absent: none (the self-test). */
  proxy?: ProxyOptions;
}

/** "proxy": a thread under a network policy (shared/src/egress.ts), reaching out through its egress proxy only. */
export type NamespaceMode = NetworkMode | "proxy";

/** One thread's network namespace, set up for its mode. */
export interface ThreadNamespace {
  readonly mode: NamespaceMode;
  /** For the launcher's `--netns` (valid until close). */
  readonly path: string;
  /** Host pids of its processes (the holder, and the user-mode stack for "default"). */
  readonly pids: number[];
  /** Resolves when the holder exits: then the namespace has to be made again. */
  readonly exited: Promise<void>;
  /** Ends the holder and the stack (the namespace lives on while a run is in it, cut off). */
  stop(): void;
  /** stop(), and gives up the path: only when no prepared command can still use it. */
  close(): void;
}

/** Runs "$@" with /proc/sys writable in the caller's (private) mount namespace. */
const WRITABLE_PROC_SYS = 'if mountpoint -q /proc/sys; then mount -o remount,bind,rw /proc/sys; fi && exec "$@"';

/**
 * "none": the holder's namespace as it is, lo only. "default": the egress rules installed inside it (by root of its
 * user namespace, so the runtime needs no CAP_NET_ADMIN of its own), then slirp4netns as its way out.
 */
export async function createNamespace(mode: NamespaceMode, setup: NetworkSetup, egress?: EgressSource): Promise<ThreadNamespace> {
  const holder = await startHolder(setup.launcher).catch((err: Error) => {
    throw new NetworkSetupError("namespace", err.message);
  });
  let stopStack = () => {};
  let proxy: EgressProxy | null = null;
  const pids = [holder.pid];
  try {
    if (mode === "proxy") {
      if (!egress) throw new NetworkSetupError("egress", "a thread under a network policy needs its policy");
      proxy = await startEgressProxy(egress, setup.proxy ?? { hosts: new Map() });
    }
    if (mode !== "none") {
      const rules = proxy ? proxyRuleset(proxy.port) : egressRuleset(currentPolicy(setup.allow));
      // Under a policy only 10.0.2.2 (slirp's way to the host's loopback) is reached, by DNAT, not route_localnet.
      const loopback = proxy === null && setup.allow.loopbackPorts.length > 0;
      // Root of the holder's user namespace may change its network namespace; the runtime needs no CAP_NET_ADMIN.
      const enter = ["nsenter", `--user=${holder.user}`, `--net=${holder.net}`, "--"];
      // Reaching the host's loopback needs route_localnet in the namespace. A container mounts /proc/sys read-only:
      // the sysctl is written from a private mount namespace where that mount is made writable (the host's is not).
      const command = loopback
        ? ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", WRITABLE_PROC_SYS, "sh",
           ...enter, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && exec nft -f -"]
        : [...enter, "nft", "-f", "-"];
      await execa(command[0]!, command.slice(1), {
        input: rules,
        timeout: START_TIMEOUT_MS,
      }).catch((err: Error) => {
        throw new NetworkSetupError("egress", `installing the egress rules failed (nftables): ${err.message}`);
      });
      const stack = await startSlirp(holder, { hostLoopback: loopback || proxy !== null }).catch((err: Error) => {
        throw new NetworkSetupError("stack", err.message);
      });
      pids.push(stack.pid);
      stopStack = () => stack.stop();
    }
  } catch (err) {
    proxy?.close();
    holder.close();
    throw err;
  }
  const stop = () => {
    stopStack();
    proxy?.close();
    holder.kill();
  };
  const close = () => {
    stop();
    holder.close();
  };
  return { mode, path: holder.net, pids, exited: holder.exited, stop, close };
}
