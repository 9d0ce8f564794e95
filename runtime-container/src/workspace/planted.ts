import { unlink } from "node:fs/promises";
import { removeTree } from "../files/remove-tree.ts";
import { fsCode, lstatAt, withWorkspaceDir } from "../files/safe-open.ts";
import { OWN_ENTRIES } from "./layout.ts";

/**
 * Removes what the sandbox planted where the runtime's own entries belong: a link (or a file) instead of the
 * `.threadbox` directory, a link instead of `.bashrc`, `pyproject.toml` or `package.json`. Without this, a thread
 * that swapped `.threadbox` for a link out would be refused forever (the safe walk never follows it), and the
 * runtime would read or write its files through the link. Every step acts on an entry of the workspace directory
 * fd we hold, so a link is unlinked, never followed, and nothing outside the workspace is touched.
 * Returns the names removed and the runtime's entries that are not there (now or any more); the caller recreates
 * them (the set-up writes missing files, never overwrites).
 */
export async function removePlantedEntries(workspace: string): Promise<{ removed: string[]; missing: string[] }> {
  return withWorkspaceDir(workspace, [], {}, async (root) => {
    const outcomes = await Promise.all(
      OWN_ENTRIES.map(async ({ name, kind }): Promise<"kept" | "removed" | "missing"> => {
        const st = await lstatAt(root, name);
        if (st === null) return "missing";
        if (kind === "dir" && !st.isDirectory()) {
          // removeTree unlinks what is not a directory, and if it became one meanwhile, removes it without following.
          await removeTree(root, name);
          return "removed";
        }
        if (kind === "file" && st.isSymbolicLink()) {
          await unlink(root.at(name)).catch((err: unknown) => {
            if (fsCode(err) !== "ENOENT") throw err;
          });
          return "removed";
        }
        return "kept";
      }),
    );
    const named = (outcome: string) => OWN_ENTRIES.filter((_, i) => outcomes[i] === outcome).map((e) => e.name);
    const removed = named("removed");
    return { removed, missing: [...removed, ...named("missing")] };
  });
}
