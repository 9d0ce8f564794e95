import { describe, expect, it } from "vitest";
import { KNOWN_BAD_DEV_SECRET } from "../../shared/src/index.ts";
import { ConfigError, loadConfig as load } from "../../runtime-container/src/config.ts";
import { parseLauncherStatus } from "../../runtime-container/src/sandbox/launcher.ts";
import { resolveGuestDir } from "../../runtime-container/src/workspace/guest-path.ts";

// Every case but the secret's own gets one: the runtime has no default secret.
const SECRET = "runtime-config-test-secret";
const loadConfig = (env: Record<string, string>) => load({ HMAC_SECRET: SECRET, ...env });

describe("runtime config", () => {
  it("has working embedded defaults", () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8788);
    expect(c.ISOLATION).toBe("proot");
    expect(c.WORKSPACES_ROOT).toMatch(/\.data\/r2\/threadbox\/threads$/);
  });

  it("caps tenant caches by default and removes idle venvs only when asked", () => {
    const c = loadConfig({});
    expect(c.TENANT_CACHE_MB).toBe(4096);
    expect(c.VENV_IDLE_TTL_S).toBeUndefined();
    expect(c.UPKEEP_INTERVAL_S).toBe(300);
    expect(loadConfig({ VENV_IDLE_TTL_S: "86400", TENANT_CACHE_MB: "512" })).toMatchObject({ VENV_IDLE_TTL_S: 86_400, TENANT_CACHE_MB: 512 });
    expect(() => loadConfig({ TENANT_CACHE_MB: "0" })).toThrow(/TENANT_CACHE_MB/);
    expect(() => loadConfig({ VENV_IDLE_TTL_S: "soon" })).toThrow(/VENV_IDLE_TTL_S/);
  });

  it("names every invalid variable", () => {
    expect(() => loadConfig({ PORT: "http", MAX_OUTPUT_BYTES: "-1" })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: "http", MAX_OUTPUT_BYTES: "-1" });
    } catch (err) {
      expect((err as Error).message).toContain("PORT");
      expect((err as Error).message).toContain("MAX_OUTPUT_BYTES");
    }
  });

  it("refuses ISOLATION=none unless explicitly allowed, and a short secret", () => {
    expect(() => loadConfig({ ISOLATION: "none" })).toThrow(/ALLOW_UNSAFE_NONE_ISOLATION/);
    expect(loadConfig({ ISOLATION: "none", ALLOW_UNSAFE_NONE_ISOLATION: "1" }).ISOLATION).toBe("none");
    expect(() => loadConfig({ HMAC_SECRET: "short" })).toThrow(/16/);
  });

  it("has no default HMAC secret: without one it refuses to start, saying how to make one", () => {
    expect(() => load({})).toThrow(/HMAC_SECRET: not set.*openssl rand -hex 32/);
    expect(() => load({ HMAC_SECRET: "" })).toThrow(/HMAC_SECRET: not set/);
  });

  it("refuses the published development secret unless NODE_ENV=development is set explicitly", () => {
    for (const NODE_ENV of [undefined, "production", "test", "Development"]) {
      const env: Record<string, string> = NODE_ENV === undefined ? {} : { NODE_ENV };
      expect(() => loadConfig({ ...env, HMAC_SECRET: KNOWN_BAD_DEV_SECRET }), String(NODE_ENV)).toThrow(/HMAC_SECRET: is the development secret published/);
    }
    expect(loadConfig({ NODE_ENV: "development", HMAC_SECRET: KNOWN_BAD_DEV_SECRET }).HMAC_SECRET).toBe(KNOWN_BAD_DEV_SECRET);
  });
});

describe("disk quota settings", () => {
  it("has per-thread defaults and refuses nonsense", () => {
    const c = loadConfig({});
    expect(c.THREAD_DISK_MB).toBe(4096);
    expect(c.THREAD_INODES).toBe(100_000);
    expect(loadConfig({ THREAD_DISK_MB: "16", THREAD_INODES: "2000" })).toMatchObject({ THREAD_DISK_MB: 16, THREAD_INODES: 2000 });
    expect(() => loadConfig({ THREAD_DISK_MB: "0" })).toThrow(/THREAD_DISK_MB/);
    expect(() => loadConfig({ THREAD_DISK_MB: "lots" })).toThrow(/THREAD_DISK_MB/);
    expect(() => loadConfig({ THREAD_INODES: "10" })).toThrow(/THREAD_INODES/);
  });
});

describe("launcher status", () => {
  it("accepts only a shell status", () => {
    expect(parseLauncherStatus("0")).toBe(0);
    expect(parseLauncherStatus("137")).toBe(137);
    expect(parseLauncherStatus("")).toBeNull();
    expect(parseLauncherStatus("1x")).toBeNull();
  });
});

describe("guest working directory", () => {
  it("maps /workspace, / and relative paths into the workspace", () => {
    expect(resolveGuestDir("/", "/workspace/proj")).toEqual({ guest: "/proj", workspaceRel: "proj" });
    expect(resolveGuestDir("/", "proj/sub")).toEqual({ guest: "/proj/sub", workspaceRel: "proj/sub" });
    expect(resolveGuestDir("/", undefined)).toEqual({ guest: "/", workspaceRel: "" });
    expect(resolveGuestDir("/", "/tmp")).toEqual({ guest: "/tmp", workspaceRel: null });
    expect(resolveGuestDir("/", "/a/../..")).toEqual({ guest: "/", workspaceRel: "" });
  });
});
