import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { RunPythonResponseSchema } from "../../shared/src/index.ts";
import { expectJson } from "../e2e/helpers.ts";
import { README_FLAGS, checkImage, isolatedIds, selfTestReport, userNamespace } from "./container.ts";
import { type ImageStack, createThread, startImageStack } from "./image-stack.ts";

// What the image's self-test finds under the privileges a platform may grant, from the README's flags down to a
// rootless container (Cloudflare Containers run images without root privileges on the host: a user namespace), and
// that the runtime starts wherever the required layers (uid switch, seccomp) hold, saying what is missing otherwise.

const ALL = { uid_switch: true, seccomp: true, rlimits: true, uid_sweep: true, pid_namespace: true, net_namespace: true, degraded: false, missing: [] };
const WITHOUT_NAMESPACES = { ...ALL, pid_namespace: false, net_namespace: false };

describe("the self-test under each set of privileges", () => {
  it("the README's flags: every layer", async () => {
    const r = await checkImage(README_FLAGS, isolatedIds());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(selfTestReport(r.stdout)).toMatchObject({ ok: true, isolation: "proot", layers: ALL });
    expect(r.stderr).toContain("required layers hold (proot)");
  });

  it("Docker's defaults (no flags): starts without pid and net namespaces, and says what would give them", async () => {
    const r = await checkImage([], isolatedIds());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(selfTestReport(r.stdout).layers).toMatchObject(WITHOUT_NAMESPACES);
    expect(r.stderr).toMatch(/not held: pid_namespace: needs CAP_SYS_ADMIN \(--cap-add SYS_ADMIN\); net_namespace: needs CAP_SYS_ADMIN/);
  });

  it("a rootless container (user namespace of 65,536 ids): the entrypoint fits the sandbox ids into it", async () => {
    const r = await checkImage(userNamespace());
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("user namespace: sandbox ids 20000..65533");
    expect(selfTestReport(r.stdout).layers).toMatchObject({ ...WITHOUT_NAMESPACES, uid_range: { first: 20000, last: 65533 } });
  });

  it("a rootless container with CAP_SYS_ADMIN in its user namespace and /dev/fuse: every layer", async () => {
    const r = await checkImage([...userNamespace(), ...README_FLAGS]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(selfTestReport(r.stdout).layers).toMatchObject(ALL);
  });

  it("a user namespace too small for per-thread uids: refuses to start and says why", async () => {
    const r = await checkImage(userNamespace(1));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("the user namespace maps too few ids for per-thread uids");
    expect(r.stderr).toContain("uid switch: setpriv cannot change uid here");
    expect(r.stderr).toContain("ALLOW_DEGRADED_ISOLATION=1");
  });
});

describe("a rootless container behind the worker", () => {
  let stack: ImageStack | undefined;
  afterAll(async () => {
    await stack?.stop();
  });

  it("serves runs as per-thread uids inside its user namespace", async () => {
    // No SANDBOX_UID_BASE: the entrypoint picks the ids from the namespace's map.
    const s = await startImageStack({ flags: [...userNamespace(), ...README_FLAGS], env: { SANDBOX_UID_BASE: "", SANDBOX_ID_RANGE: "" } });
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
