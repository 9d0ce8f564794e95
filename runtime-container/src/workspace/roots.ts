import { mkdir, stat } from "node:fs/promises";
import path from "node:path";

/**
 * Creates the workspace and state roots and, when sandboxes run as their own uids, checks that any uid can traverse
 * every ancestor: without that, every sandbox would fail with a confusing "permission denied" from proot.
 */
export async function prepareRoots(roots: string[], uidSwitch: boolean): Promise<void> {
  for (const root of roots) {
    await mkdir(root, { recursive: true, mode: 0o711 });
    if (!uidSwitch) continue;
    for (let dir = root; ; dir = path.dirname(dir)) {
      const st = await stat(dir);
      if ((st.mode & 0o001) === 0) {
        throw new Error(`sandbox uids cannot reach ${root}: ${dir} is not traversable by others (chmod o+x ${dir})`);
      }
      if (dir === path.dirname(dir)) break;
    }
  }
}
