import { readFileSync } from "node:fs";

const source = (file: string) => readFileSync(new URL(file, import.meta.url), "utf8");

/**
 * The kernels, passed on the command line (`python -c`, `node -e`) so nothing has to be copied into the sandbox.
 * The Python one is three files joined (the main loop, rich outputs, magic lines), then its start.
 */
export const PYTHON_KERNEL = [source("./kernel.py"), source("./kernel-rich.py"), source("./kernel-magics.py"), "main()\n"].join("\n");
export const NODE_KERNEL = source("./kernel.cjs");
