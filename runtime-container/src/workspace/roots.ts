import { mkdir, stat } from "node:fs/promises";
import path from "node:path";

/**
 * Creates the workspace and state roots and checks that the sandbox uid can traverse every ancestor: without
 * that, every sandbox would fail with a confusing "permission denied" from proot.
 */
export async function prepareRoots(roots: string[], sandboxUid: number | null): Promise<void> {
  for (const root of roots) {
    await mkdir(root, { recursive: true, mode: 0o711 });
    if (sandboxUid === null) continue;
    for (let dir = root; ; dir = path.dirname(dir)) {
      const st = await stat(dir);
      if (st.uid !== sandboxUid && (st.mode & 0o001) === 0) {
        throw new Error(`the sandbox uid ${sandboxUid} cannot reach ${root}: ${dir} is not traversable (chmod o+x ${dir})`);
      }
      if (dir === path.dirname(dir)) break;
    }
  }
}
