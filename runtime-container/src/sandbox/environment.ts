import path from "node:path";
import { AppError, ErrorCode } from "../../../shared/src/index.ts";

/**
 * The sandbox environment is built from scratch (seed 002), never inherited from the server: no HMAC secret,
 * no storage credentials, nothing of the host's.
 */
export interface GuestPaths {
  root: string;
  venv: string;
  pipCache: string;
  /**
   * Bun's download cache: the thread's own, in the tenant's cache directory. bun makes its cache 0755 whatever the
   * umask, so one shared by the tenant's threads (each its own uid) would be writable by the first only.
   */
  bunCache: string;
  /** The runtime's tools directory (tools.ts), whose bin/ goes on PATH; null: none. */
  tools: string | null;
}

export function sandboxEnv(
  paths: GuestPaths,
  cwd: string,
  user: Record<string, string> = {},
  installer: Record<string, string> = {},
): Record<string, string> {
  const guestRoot = paths.root;
  const at = (p: string) => path.posix.join(guestRoot, p);
  for (const name of Object.keys(user)) {
    // These reach proot and the loader before the sandbox exists: LD_PRELOAD into proot would run untraced.
    if (/^(LD_|PROOT_)/.test(name)) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, `environment variable ${name} is not allowed (LD_* and PROOT_* are reserved)`);
    }
  }
  return {
    HOME: guestRoot,
    USER: "user",
    LOGNAME: "user",
    SHELL: "/bin/bash",
    LANG: "C.UTF-8",
    TERM: "dumb",
    TMPDIR: "/tmp",
    PWD: cwd,
    PATH: [`${paths.venv}/bin`, at("node_modules/.bin"), ...(paths.tools ? [`${paths.tools}/bin`] : []), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":"),
    VIRTUAL_ENV: paths.venv,
    BASH_ENV: at(".bashrc"),
    // Each glibc malloc arena reserves 64 MiB of address space, up to 8 per core: on a many-core host a threaded
    // program would hit the address-space limit (RLIMIT_AS) with memory to spare. A few arenas suffice.
    MALLOC_ARENA_MAX: "4",
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    MPLBACKEND: "Agg",
    MPLCONFIGDIR: "/tmp/matplotlib",
    NODE_ENV: "development",
    // One download/wheel cache per tenant, for pip, uv and npm (bun's is the thread's own); the index settings come
    // from the runtime.
    PIP_CACHE_DIR: paths.pipCache,
    UV_CACHE_DIR: paths.pipCache,
    npm_config_cache: `${paths.pipCache}/npm`,
    BUN_INSTALL_CACHE_DIR: paths.bunCache,
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    PIP_NO_INPUT: "1",
    ...installer,
    ...user,
  };
}
