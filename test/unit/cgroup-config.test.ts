import { describe, expect, it } from "vitest";
import { loadConfig as load } from "../../runtime-container/src/config.ts";
import { rlimitArgs } from "../../runtime-container/src/sandbox/limits.ts";

const loadConfig = (env: Record<string, string>) => load({ HMAC_SECRET: "cgroup-config-test-secret", ...env });

describe("cgroup settings", () => {
  it("uses cgroups when it can by default, with no thread ceilings", () => {
    const c = loadConfig({});
    expect(c.CGROUPS).toBe("auto");
    expect([c.THREAD_MEMORY_MB, c.THREAD_PROCESSES, c.THREAD_CPUS]).toEqual([undefined, undefined, undefined]);
    expect(loadConfig({ CGROUPS: "off", THREAD_MEMORY_MB: "8192", THREAD_PROCESSES: "512", THREAD_CPUS: "1.5" })).toMatchObject({
      CGROUPS: "off",
      THREAD_MEMORY_MB: 8192,
      THREAD_PROCESSES: 512,
      THREAD_CPUS: 1.5,
    });
    expect(() => loadConfig({ CGROUPS: "v3" })).toThrow(/CGROUPS/);
    expect(() => loadConfig({ THREAD_CPUS: "0" })).toThrow(/THREAD_CPUS/);
  });

  it("refuses a thread ceiling below one run with the default limits", () => {
    expect(() => loadConfig({ THREAD_MEMORY_MB: "1024" })).toThrow(/THREAD_MEMORY_MB \(1024\) is below LIMIT_MEMORY_MB \(4096\)/);
    expect(() => loadConfig({ THREAD_PROCESSES: "100", LIMIT_PROCESSES: "128" })).toThrow(/THREAD_PROCESSES \(100\) is below LIMIT_PROCESSES/);
    expect(loadConfig({ THREAD_MEMORY_MB: "1024", LIMIT_MEMORY_MB: "1024" }).THREAD_MEMORY_MB).toBe(1024);
  });

  it("sets RLIMIT_NPROC to what it is given: the run's processes, or the thread's bound, or none", () => {
    const limits = { cpuS: 10, memoryMb: 256, processes: 64, openFiles: 100, fileSizeMb: 5 };
    expect(rlimitArgs(limits, 64)).toContain("--rlimit=nproc:64:64");
    expect(rlimitArgs(limits, 256)).toContain("--rlimit=nproc:256:256");
    expect(rlimitArgs(limits, null).some((a) => a.startsWith("--rlimit=nproc"))).toBe(false);
    expect(rlimitArgs(limits, null)).toContain(`--rlimit=as:${256 * 2 ** 20}:${256 * 2 ** 20}`);
  });
});
