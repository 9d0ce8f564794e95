import { randomBytes } from "node:crypto";
import path from "node:path";
import type { NetworkPolicyView } from "../../shared/src/index.ts";
import { type RuntimeProcess, startRuntime } from "../runtime/harness.ts";
import type { Stack } from "../e2e/stack.ts";

/**
 * Where a hostile program is sent: a runtime's own API (signed, fast to start), or the public API of a whole
 * stack (worker in workerd in front of the runtime). Either way the program runs in the same runtime process,
 * whose pid, workspaces and logs the teardown checks look at.
 */
export type Backend = "proot" | "bwrap";
export type Route = "exec" | "run_python";

export interface Posted {
  status: number;
  /** The raw response body: R15 checks it is valid UTF-8 before anything decodes it. */
  bytes: Uint8Array;
}

export interface Target {
  label: string;
  backend: Backend;
  rt: RuntimeProcess;
  /** The runtime's pid when the suite started: it must still be the one serving. */
  pid: number;
  /** Secret-looking values in the runtime's own environment: no sandbox may ever see them. */
  canaries: string[];
  /** The host directory of a thread's workspace. */
  dir(thread: string): string;
  createThread(thread: string, setup?: { network?: "none" | NetworkPolicyView }): Promise<void>;
  post(thread: string, route: Route, body: unknown): Promise<Posted>;
}

/** MAX_OUTPUT_BYTES of the suite's runtimes: small, so R13/R14 hit the cap in a fraction of a second. */
export const OUTPUT_CAP = 65_536;

/** Runtime settings for the suite, canaries included (names a careless allowlist would pass on). */
export function securityEnv(extra: Record<string, string> = {}): { env: Record<string, string>; canaries: string[] } {
  const canary = (label: string) => `canary-${label}-${randomBytes(8).toString("hex")}`;
  const env = {
    MAX_OUTPUT_BYTES: String(OUTPUT_CAP),
    KILL_GRACE_MS: "500",
    AWS_SECRET_ACCESS_KEY: canary("aws"),
    R2_SECRET_ACCESS_KEY: canary("r2"),
    THREADBOX_API_KEY: canary("api"),
    ...extra,
  };
  return { env, canaries: [env.AWS_SECRET_ACCESS_KEY, env.R2_SECRET_ACCESS_KEY, env.THREADBOX_API_KEY] };
}

export const TENANT = "acme";

/** A real runtime (proot, or bwrap) driven through its signed internal API. */
export async function runtimeTarget(backend: Backend, extra: Record<string, string> = {}): Promise<Target> {
  const { env, canaries } = securityEnv({ ...extra, ISOLATION: backend });
  const rt = await startRuntime(env);
  const pid = rt.child.pid;
  if (pid === undefined) throw new Error("runtime has no pid");
  return {
    label: backend,
    backend,
    rt,
    pid,
    canaries,
    dir: (thread) => path.join(rt.workspaces, TENANT, thread),
    async createThread(thread, setup) {
      const res = await rt.call("POST", `/threads/${TENANT}/${thread}`, { body: setup ?? {} });
      if (res.status !== 200) throw new Error(`create ${thread}: ${res.status} ${await res.text()}`);
    },
    async post(thread, route, body) {
      const res = await rt.call("POST", `/threads/${TENANT}/${thread}/${route}`, { body });
      return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
    },
  };
}

/** The public API (`/v1`, tenant a's key) of a running stack. */
export function stackTarget(stack: Stack, canaries: string[]): Target {
  const pid = stack.runtime.child.pid;
  if (pid === undefined) throw new Error("runtime has no pid");
  return {
    label: "public API",
    backend: "proot",
    rt: stack.runtime,
    pid,
    canaries,
    dir: (thread) => path.join(stack.runtime.workspaces, stack.tenants.a.name, thread),
    async createThread(thread, setup) {
      const res = await stack.api("POST", "/v1/threads", { body: { id: thread, ...setup } });
      if (res.status !== 201) throw new Error(`create ${thread}: ${res.status} ${await res.text()}`);
    },
    async post(thread, route, body) {
      const res = await stack.api("POST", `/v1/threads/${thread}/${route}`, { body });
      return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
    },
  };
}
