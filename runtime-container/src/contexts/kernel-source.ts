import { readFileSync } from "node:fs";

/** The Python kernel, passed to `python -c` so nothing has to be copied into the sandbox. */
export const PYTHON_KERNEL = readFileSync(new URL("./kernel.py", import.meta.url), "utf8");
