import type { Scenario } from "../scenario.ts";
import { checkpoints } from "./checkpoints.ts";
import { concurrency } from "./concurrency.ts";
import { imports } from "./imports.ts";
import { newThread } from "./new-thread.ts";
import { packages } from "./packages.ts";
import { statefulCell } from "./stateful-cell.ts";
import { streaming } from "./streaming.ts";
import { warmExec } from "./warm-exec.ts";

/** Every scenario of issue 8, in order, then issue 20's checkpoints. */
export const SCENARIOS: Scenario[] = [warmExec, newThread, statefulCell, imports, streaming, concurrency, packages, checkpoints];
