import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { RunPythonResponseSchema } from "../../shared/src/index.ts";
import { expectJson } from "../e2e/helpers.ts";
import { EVERY_LAYER_REPORT } from "../layers-held.ts";
import { MINIMAL_FLAGS, README_FLAGS, checkImage, isolatedIds, seccompProfileWithout, selfTestReport, userNamespace } from "./container.ts";
import { type ImageStack, createThread, startImageStack } from "./image-stack.ts";

// What the image's self-test finds under the privileges a platform may grant, from the README's flags down to Docker's
// defaults and a rootless container (Cloudflare Containers run images without root privileges on the host: a user
// namespace): every required layer holds with the minimal flags; without them the runtime refuses to start, and the
// entrypoint says which layers are missing and what each needs; ALLOW_DEGRADED_ISOLATION=1 starts it degraded.

/** The runtime's own refusal, and the entrypoint's summary of it. */
function expectRefused(r: { exitCode?: number; stdout: string; stderr: string }, notHeld: RegExp[]) {
  expect(r.exitCode, r.stderr).not.toBe(0);
  expect(r.stdout).not.toContain('{"ok":');
  expect(r.stderr).toContain("sandbox self-test failed: required isolation layers are missing");
  expect(r.stderr).toContain("threadbox entrypoint: REFUSED to start (proot)");
  const line = r.stderr.split("\n").find((l) => l.startsWith("threadbox entrypoint: not held: ")) ?? "";
  for (const re of notHeld) expect(line).toMatch(re);
}

const NEEDS_SYS_ADMIN = [/ipc_namespace needs CAP_SYS_ADMIN \(--cap-add SYS_ADMIN\)/, /tracer_protected needs CAP_SYS_ADMIN/];
const NEEDS_TUN = /user_mode_stack needs \/dev\/net\/tun \(--device \/dev\/net\/tun\)/;

describe("the self-test under each set of privileges", () => {
  it.each([
    ["the minimal flags (--cap-add SYS_ADMIN --device /dev/net/tun)", MINIMAL_FLAGS],
    ["the README's flags (the minimal ones and /dev/fuse)", README_FLAGS],
  ])("%s: every layer, nothing degraded", async (_, flags) => {
    const r = await checkImage(flags, isolatedIds());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(selfTestReport(r.stdout)).toMatchObject({ ok: true, isolation: "proot", layers: EVERY_LAYER_REPORT });
    expect(r.stderr).toContain("threadbox entrypoint: required layers hold (proot)");
    expect(r.stderr).not.toContain("not held:");
  });

  // No flags: Docker's default capabilities (MACHINE in container.ts), under podman's seccomp profile, which lets root
  // make user and network namespaces; Docker's refuses unshare and setns without CAP_SYS_ADMIN, so there
  // net_namespace does not hold either. Refused both ways.
  it("no flags (Docker's default capabilities): refuses to start, and says what each missing layer needs", async () => {
    const r = await checkImage([], isolatedIds());
    expectRefused(r, [...NEEDS_SYS_ADMIN, NEEDS_TUN]);
    expect(r.stderr).toMatch(/holds: uid_switch, seccomp, net_namespace, egress_filter, protected_hardlinks\n/);
  });

  it("no flags with ALLOW_DEGRADED_ISOLATION=1: starts, degraded, and its report says what is missing", async () => {
    const r = await checkImage([], { ...isolatedIds(), ALLOW_DEGRADED_ISOLATION: "1" });
    expect(r.exitCode, r.stderr).toBe(0);
    const { layers } = selfTestReport(r.stdout);
    const { missing: _, ...rest } = EVERY_LAYER_REPORT;
    expect(layers).toMatchObject({
      ...rest,
      pid_namespace: false,
      ipc_namespace: false,
      user_mode_stack: null,
      tracer_protected: false,
      degraded: true,
    });
    const missing = layers.missing as string[];
    expect(missing).toHaveLength(3);
    expect(missing.join("\n")).toMatch(/^user-mode network stack: slirp4netns exited .*\/dev\/net\/tun/m);
    expect(missing.join("\n")).toMatch(/^tracer protection: /m);
    expect(missing.join("\n")).toMatch(/^ipc namespace: /m);
    expect(r.stderr).toContain("threadbox entrypoint: DEGRADED isolation (proot)");
  });

  it("CAP_SYS_ADMIN without /dev/net/tun: refuses to start, for want of the user-mode stack alone", async () => {
    const r = await checkImage(["--cap-add", "SYS_ADMIN"], isolatedIds());
    expectRefused(r, [NEEDS_TUN]);
    expect(r.stderr).toMatch(/not held: user_mode_stack needs [^;]*\n/);
  });

  it("the minimal flags under a seccomp profile without pivot_root (as Docker's default profile): refuses to start", async () => {
    const profile = await seccompProfileWithout(["pivot_root"]);
    try {
      const r = await checkImage([...MINIMAL_FLAGS, "--security-opt", `seccomp=${profile.file}`], isolatedIds());
      expectRefused(r, [/user_mode_stack needs .*pivot_root/]);
      // slirp4netns's own reason, passed on by the runtime.
      expect(r.stderr).toContain("cannot pivot_root");
    } finally {
      await profile.remove();
    }
  });

  it("a rootless container (user namespace of 65,536 ids) with CAP_SYS_ADMIN and /dev/net/tun: every layer, ids fitted", async () => {
    const ns = await userNamespace({ tun: true });
    try {
      const r = await checkImage([...ns.flags, "--cap-add", "SYS_ADMIN"]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain("user namespace: sandbox ids 20000..65533");
      expect(selfTestReport(r.stdout).layers).toMatchObject({ ...EVERY_LAYER_REPORT, uid_range: { first: 20000, last: 65533 } });
    } finally {
      await ns.remove();
    }
  });

  it("a rootless container without CAP_SYS_ADMIN or /dev/net/tun: refuses to start, as without flags", async () => {
    const ns = await userNamespace();
    const r = await checkImage(ns.flags);
    expectRefused(r, [...NEEDS_SYS_ADMIN, NEEDS_TUN]);
  });

  it("a user namespace too small for per-thread uids: refuses to start and says why", async () => {
    const ns = await userNamespace({ size: 1, tun: true });
    try {
      const r = await checkImage([...ns.flags, "--cap-add", "SYS_ADMIN"]);
      expect(r.stderr).toContain("the user namespace maps too few ids for per-thread uids");
      expectRefused(r, [/uid_switch needs root in the container \(CAP_SETUID, CAP_SETGID\) and at least 1,024 mapped ids/]);
      expect(r.stderr).toContain("uid switch: the launcher cannot change uid here");
    } finally {
      await ns.remove();
    }
  });
});

describe("a rootless container behind the worker", () => {
  let stack: ImageStack | undefined;
  let ns: Awaited<ReturnType<typeof userNamespace>> | undefined;
  afterAll(async () => {
    await stack?.stop();
    await ns?.remove();
  });

  it("serves runs as per-thread uids inside its user namespace", async () => {
    ns = await userNamespace({ tun: true });
    // No SANDBOX_UID_BASE: the entrypoint picks the ids from the namespace's map.
    const s = await startImageStack({ flags: [...ns.flags, "--cap-add", "SYS_ADMIN"], env: { SANDBOX_UID_BASE: "", SANDBOX_ID_RANGE: "" } });
    stack = s;
    const a = await createThread(s, `userns-a-${randomUUID().slice(0, 8)}`);
    const b = await createThread(s, `userns-b-${randomUUID().slice(0, 8)}`);
    const uid = async (thread: string) => {
      const body = { code: "import os\nprint(os.getuid())" };
      const r = RunPythonResponseSchema.parse(await expectJson(s.api("POST", `/v1/threads/${thread}/run_python`, { body }), 200));
      return Number(r.metadata.stdout);
    };
    const [ua, ub] = [await uid(a), await uid(b)];
    expect(ua).toBeGreaterThanOrEqual(20000);
    expect(ua).toBeLessThan(65534);
    expect(ub).not.toBe(ua);
  });
});
