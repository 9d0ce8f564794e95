import type { GoalResult, Row } from "./report.ts";
import { delta, ratio } from "./stats.ts";
import { extra, judge, num, p50 } from "./goal-rows.ts";

/** Issue 8's goals (the harness's first ones), kept so runs before and after issue 18 stay comparable. */
export function issue8Goals(rows: Row[], backends: readonly string[]): GoalResult[] {
  const goals: GoalResult[] = [];
  const add = (g: Omit<GoalResult, "issue">) => goals.push({ issue: 8, ...g });
  for (const b of backends) {
    const added = delta(p50(rows, `exec.runtime.${b}`), p50(rows, `exec.bare.${b}`));
    add({
      id: `runtime-overhead.${b}`,
      goal: `runtime adds ≤ 10 ms p50 over the bare sandboxed spawn (${b})`,
      value: added,
      unit: "ms",
      target: "≤ 10",
      met: judge(added, (v) => v <= 10),
    });
  }
  const workerAdded = delta(p50(rows, "exec.worker.proot"), p50(rows, "exec.runtime.proot"));
  add({
    id: "worker-overhead",
    goal: "the worker adds ≤ 10 ms p50 over the runtime API",
    value: workerAdded,
    unit: "ms",
    target: "≤ 10",
    met: judge(workerAdded, (v) => v <= 10),
  });
  for (const mode of ["sequential", "burst"]) {
    const v = num(p50(rows, `new-thread.${mode}`));
    add({
      id: `new-thread.${mode}`,
      goal: `new thread → first result p50 < 150 ms (${mode})`,
      value: v,
      unit: "ms",
      target: "< 150",
      met: judge(v, (x) => x < 150),
    });
  }
  const cell = ratio(p50(rows, "cell.jupyter"), p50(rows, "cell.worker"));
  add({
    id: "stateful-cell",
    goal: "stateful cell ≥ 2× faster than a Jupyter kernel round trip (Jupyter p50 / worker p50)",
    value: cell,
    unit: "×",
    target: "≥ 2",
    met: judge(cell, (v) => v >= 2),
  });
  for (const b of backends) {
    add({
      id: `import-slowdown.${b}`,
      goal: `import pandas, matplotlib.pyplot: one-shot run_python (${b}) / bare python3`,
      value: ratio(p50(rows, `import.run-python.${b}`), p50(rows, `import.bare.${b}`)),
      unit: "×",
      target: "report (lower is better)",
      met: null,
    });
  }
  for (const b of backends) {
    add({
      id: `import-slowdown.warm-context.${b}`,
      goal: `import pandas, matplotlib.pyplot: the cell in a warm context (${b}) / bare python3`,
      value: ratio(p50(rows, `import.context-warm.${b}`), p50(rows, `import.bare.${b}`)),
      unit: "×",
      target: "report (lower is better)",
      met: null,
    });
  }
  const success = num(extra(rows, "concurrency.run-python", "success_rate"));
  add({
    id: "concurrency",
    goal: "concurrent threads each running a short Python script: 100% success",
    value: success,
    unit: "fraction",
    target: "= 1",
    met: judge(success, (v) => v === 1),
  });
  return goals;
}
