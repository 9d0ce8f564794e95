import { readFileSync } from "node:fs";

const source = (file: string) => readFileSync(new URL(file, import.meta.url), "utf8");

/** The kernels, passed on the command line (`python -c`, `node -e`) so nothing has to be copied into the sandbox. */
export const PYTHON_KERNEL = source("./kernel.py");
export const NODE_KERNEL = source("./kernel.cjs");
