/** One interface for every isolation backend: it turns a guest command into a host command line. */
export interface SandboxSpec {
  /** Host directory that the guest sees as `/` (and as `/workspace`). */
  workspace: string;
  /** Host directories private to the thread, bound at /tmp, /var/tmp and /dev/shm. */
  privateTmp: { tmp: string; varTmp: string; shm: string };
  /** Local host directories (never on the bucket) the sandbox sees at fixed guest paths (GUEST_MOUNTS). */
  mounts: Mounts;
  /** Guest working directory (absolute guest path). */
  cwd: string;
  /** Guest command. */
  argv: string[];
  /**
   * The backend makes an empty network namespace itself (bwrap `--unshare-net`): only for a thread with network
   * "none" when the runtime could not give it a namespace of its own (wrap.ts joins that one otherwise).
   */
  unshareNet: boolean;
  /**
   * Host directories the guest sees read-only (the thread's shared mounts, mounts/thread-binds.ts), in order: a
   * parent before the binds below it. Root-owned, written only by the runtime.
   */
  readOnly?: ReadOnlyBind[];
}

export interface ReadOnlyBind {
  source: string;
  guest: string;
}

export interface HostCommand {
  file: string;
  args: string[];
  /** Host cwd to spawn in. */
  cwd: string;
  /** Removes anything the backend had to create in the workspace (bwrap's mount points). */
  cleanup?: () => Promise<void>;
}

export interface SandboxBackend {
  readonly name: "proot" | "bwrap" | "none";
  /** The guest path of the workspace root: "/" when the backend re-roots, the host path otherwise. */
  guestRoot(workspace: string): string;
  /** Where a mount appears inside the sandbox: GUEST_MOUNTS, or the host path where nothing is re-rooted. */
  guestMount(spec: Pick<SandboxSpec, "mounts">, which: keyof Mounts): string;
  /** Where the runtime's tools directory appears inside the sandbox (tools.ts); null: none is bound. */
  guestTools(): string | null;
  /** Prepares the host command; may create mount points. */
  command(spec: SandboxSpec): Promise<HostCommand>;
}

/** The thread's venv (local disk: object-store mounts handle venvs badly) and its tenant's package cache. */
export interface Mounts {
  venv: string;
  pipCache: string;
}
export const GUEST_MOUNTS: Record<keyof Mounts, string> = { venv: "/.venv", pipCache: "/.pip-cache" };
