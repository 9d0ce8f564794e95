import { readFileSync } from "node:fs";
import { IMPORT_POLICY_SOURCE } from "../python/import-policy.ts";

const source = (file: string) => readFileSync(new URL(file, import.meta.url), "utf8");

/**
 * The kernels, passed on the command line (`python -c`, `node -e`) so nothing has to be copied into the sandbox.
 * The Python one is three files joined (the main loop, rich outputs, magic lines), then the thread's import policy
 * (after the kernel's own imports, so a policy never stops the kernel itself), then its start.
 */
export const PYTHON_KERNEL = [source("./kernel.py"), source("./kernel-rich.py"), source("./kernel-magics.py"), IMPORT_POLICY_SOURCE, "main()\n"].join("\n");
export const NODE_KERNEL = source("./kernel.cjs");
