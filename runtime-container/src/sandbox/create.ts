import { accessSync, constants } from "node:fs";
import { execa } from "execa";
import type { RuntimeConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { HostCommand, SandboxBackend, SandboxSpec } from "./backend.ts";
import { createBwrapBackend } from "./bwrap.ts";
import { createNoneBackend } from "./none.ts";
import { createProotBackend } from "./proot.ts";
import { type Layers, type SpawnSpec, wrapCommand } from "./wrap.ts";

export interface Sandbox {
  readonly backend: SandboxBackend;
  readonly layers: Layers;
  /** The host command line for a guest command, all layers applied. */
  prepare(spec: SandboxSpec): Promise<SpawnSpec & Pick<HostCommand, "cleanup">>;
}

async function works(file: string, args: string[]): Promise<boolean> {
  const r = await execa(file, args, { reject: false, timeout: 10_000, stdin: "ignore" });
  return r.exitCode === 0;
}

/** Start-up self-test: which layers this host supports; refuses to start when a required one is missing. */
export async function createSandbox(config: RuntimeConfig, logger: Logger): Promise<Sandbox> {
  const backend =
    config.ISOLATION === "proot"
      ? createProotBackend(config.PROOT_BIN)
      : config.ISOLATION === "bwrap"
        ? createBwrapBackend(config.BWRAP_BIN)
        : createNoneBackend();

  if (backend.name !== "none") {
    const bin = backend.name === "proot" ? config.PROOT_BIN : config.BWRAP_BIN;
    if (!(await works(bin, ["--version"]))) {
      throw new Error(`isolation backend ${backend.name}: "${bin} --version" failed; install it (scripts/setup.sh does)`);
    }
  }

  let seccompHelper: string | null = null;
  if (backend.name !== "none") {
    try {
      accessSync(config.SECCOMP_HELPER, constants.X_OK);
    } catch {
      throw new Error(`seccomp helper ${config.SECCOMP_HELPER} is missing; build it with scripts/setup.sh`);
    }
    if (!(await works(config.SECCOMP_HELPER, ["/bin/true"]))) {
      throw new Error(`seccomp helper ${config.SECCOMP_HELPER} cannot install its filter on this host`);
    }
    seccompHelper = config.SECCOMP_HELPER;
  }

  const isRoot = process.getuid?.() === 0;
  const uid = isRoot && backend.name !== "none" ? config.SANDBOX_UID : null;
  const gid = isRoot && backend.name !== "none" ? config.SANDBOX_GID : null;

  let pidNamespace = false;
  if (config.PID_NAMESPACE !== "off" && backend.name === "proot") {
    pidNamespace = isRoot && (await works("unshare", ["--pid", "--fork", "--kill-child", "--mount-proc", "true"]));
    if (!pidNamespace && config.PID_NAMESPACE === "on") {
      throw new Error("PID_NAMESPACE=on but `unshare --pid` does not work here (it needs root)");
    }
  }

  const layers: Layers = { uid, gid, pidNamespace: pidNamespace || backend.name === "bwrap", seccompHelper };
  logger.info("sandbox layers", { backend: backend.name, ...layers });
  if (backend.name === "none") logger.warn("ISOLATION=none: user code runs on the host, unconfined (development only)");
  if (!isRoot) logger.warn("not running as root: sandboxes run as the server's own uid");

  return {
    backend,
    layers,
    async prepare(spec) {
      const cmd = await backend.command(spec);
      return { ...wrapCommand(cmd, layers, backend.name), cleanup: cmd.cleanup };
    },
  };
}
