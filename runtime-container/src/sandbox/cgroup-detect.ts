import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { CONTROLLERS, type CgroupReport, CgroupTree, type Controller, type Hierarchy, enableControllers, exists, fsCode, readText } from "./cgroups.ts";

/** A cgroup filesystem from /proc/self/mountinfo: where it is mounted, which part of the tree, which controllers. */
interface CgroupMount {
  point: string;
  root: string;
  v2: boolean;
  options: string[];
}

/** mountinfo escapes blanks and backslashes as octal (\040). */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

export function parseMountinfo(text: string): CgroupMount[] {
  return text.split("\n").flatMap((line) => {
    const [left, right] = line.split(" - ");
    const f = left?.split(" ") ?? [];
    const r = right?.split(" ") ?? [];
    if (r[0] !== "cgroup" && r[0] !== "cgroup2") return [];
    return [{ root: unescapeMount(f[3] ?? "/"), point: unescapeMount(f[4] ?? ""), v2: r[0] === "cgroup2", options: (r[2] ?? "").split(",") }];
  });
}

/** /proc/self/cgroup: the v2 path (`0::/path`) and each v1 controller's path (`N:cpu,cpuacct:/path`). */
export function parseProcCgroup(text: string): { v2: string | null; v1: Map<string, string> } {
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "0" && m[2] === "") v2 = m[3] as string;
    else for (const c of (m[2] as string).split(",")) v1.set(c, m[3] as string);
  }
  return { v2, v1 };
}

/** The runtime's own group in a mounted hierarchy (a mount of a subtree shows paths relative to its root). */
function ownDir(mount: CgroupMount, own: string): string {
  const inside = mount.root !== "/" && (own === mount.root || own.startsWith(`${mount.root}/`));
  return path.join(mount.point, inside ? own.slice(mount.root.length) : own);
}

export interface CgroupOptions {
  /** `auto`: v2 when its tree offers memory, pids or cpu, else v1; `v2` / `v1` force one; `off`. */
  prefer?: "auto" | "v2" | "v1" | "off";
}

const NONE = { memory: false, pids: false, cpu: false };

/** No cgroups: the report says why (the rlimits alone then apply). */
export function noCgroups(problem: string): CgroupTree {
  return new CgroupTree({ mode: "none", limits: { ...NONE }, kill: null, roots: [], problem }, []);
}

/**
 * Finds the cgroup hierarchies this runtime may use, removes a stale tree of the same name (a runtime that had this
 * id slot before, and died), and creates the root group `name` inside the runtime's own cgroup. Never throws: where
 * cgroups cannot be used the report says why, with mode "none" (the rlimits remain).
 */
export async function openCgroups(name: string, opts: CgroupOptions = {}): Promise<CgroupTree> {
  const none = noCgroups;
  const prefer = opts.prefer ?? "auto";
  if (prefer === "off") return none("disabled by configuration");
  if (process.getuid?.() !== 0) return none("the runtime is not root");
  const read = await Promise.all([readFile("/proc/self/cgroup", "utf8"), readFile("/proc/self/mountinfo", "utf8")]).catch(() => null);
  if (!read) return none("/proc/self/cgroup or /proc/self/mountinfo cannot be read");
  const self = parseProcCgroup(read[0]);
  const mounts = parseMountinfo(read[1]);
  const v2 = prefer === "v1" ? null : await v2Hierarchy(self.v2, mounts);
  const v1 = prefer === "v2" ? [] : v1Hierarchies(self.v1, mounts);
  const useV2 = v2 !== null && (prefer === "v2" || v2.controllers.length > 0 || v1.length === 0);
  const planned = useV2 && v2 ? [v2] : v1;
  if (planned.length === 0) return none("no cgroup hierarchy offers memory, pids or cpu to this process");

  const problems: string[] = [];
  const usable: Hierarchy[] = [];
  for (const h of planned) {
    try {
      if (useV2) await delegate(h);
      usable.push({ ...h, root: path.join(h.root, name) });
    } catch (err) {
      problems.push(`${h.root}: ${String(err)}`);
    }
  }
  if (usable.length === 0) return none(problems.join("; "));
  const limits = { ...NONE };
  for (const h of usable) for (const c of h.controllers) limits[c] = true;
  const missing = CONTROLLERS.filter((c) => !limits[c]);
  if (missing.length > 0) problems.push(`no ${missing.join(", ")} controller here`);
  const report: CgroupReport = { mode: useV2 ? "v2" : "v1", limits, kill: "signal", roots: usable.map((h) => h.root), problem: problems.join("; ") || null };
  try {
    // What a runtime with this name (its id slot) left behind when it died: its slot is ours now.
    await new CgroupTree(report, usable).destroy();
    const tree = new CgroupTree(report, usable);
    await tree.create([], {});
    const killFile = useV2 && (await exists(path.join(usable[0]?.root ?? "", "cgroup.kill")));
    return new CgroupTree({ ...report, kill: killFile ? "cgroup.kill" : "signal" }, usable);
  } catch (err) {
    return none(`cannot create the runtime's cgroup: ${String(err)}`);
  }
}

async function v2Hierarchy(own: string | null, mounts: CgroupMount[]): Promise<Hierarchy | null> {
  const mount = mounts.find((m) => m.v2);
  if (own === null || !mount) return null;
  const dir = ownDir(mount, own);
  const offered = (await readText(path.join(dir, "cgroup.controllers"))).split(/\s+/);
  return { root: dir, controllers: CONTROLLERS.filter((c) => offered.includes(c)) };
}

function v1Hierarchies(own: Map<string, string>, mounts: CgroupMount[]): Hierarchy[] {
  const byDir = new Map<string, Controller[]>();
  for (const c of CONTROLLERS) {
    const mount = mounts.find((m) => !m.v2 && m.options.includes(c));
    const ownPath = own.get(c);
    if (!mount || ownPath === undefined) continue;
    const dir = ownDir(mount, ownPath);
    byDir.set(dir, [...(byDir.get(dir) ?? []), c]);
  }
  return [...byDir].map(([root, controllers]) => ({ root, controllers }));
}

/**
 * v2 only lets a group's children have a controller when the group lists it in cgroup.subtree_control, and a group
 * with processes of its own may not (the "no internal processes" rule; the tree's root is exempt). In a container
 * the runtime's group is typically the container's, with the runtime in it: its processes move to a leaf first.
 */
async function delegate(h: Hierarchy): Promise<void> {
  try {
    await enableControllers(h.root, h.controllers);
  } catch (err) {
    if (fsCode(err) !== "EBUSY") throw err;
    const leaf = path.join(h.root, "threadbox-host");
    await mkdir(leaf).catch((e: unknown) => {
      if (fsCode(e) !== "EEXIST") throw e;
    });
    for (const pid of (await readText(path.join(h.root, "cgroup.procs"))).split("\n").filter(Boolean)) {
      await writeFile(path.join(leaf, "cgroup.procs"), pid).catch(() => undefined);
    }
    await enableControllers(h.root, h.controllers);
  }
}
