import type { GoalResult, Row } from "./report.ts";
import { delta, ratio } from "./stats.ts";
import { MS, X, extra, judge, num, p50 } from "./goal-rows.ts";

/**
 * Issue 18's table (speed), each goal judged on rows of the same run; the note gives the rows it was computed from,
 * so a reader sees the baseline next to the value.
 */
/** Issue 18's import targets: one-shot run_python over bare python3 on the host, per backend. */
const IMPORT_TARGET: Record<string, number> = { proot: 1.5, bwrap: 1.05 };

export function issue18Goals(rows: Row[], backends: readonly string[]): GoalResult[] {
  const goals: GoalResult[] = [];
  const add = (g: Omit<GoalResult, "issue">) => goals.push({ issue: 18, ...g });

  const seq = num(p50(rows, "new-thread.sequential"));
  add({
    id: "i18.new-thread.sequential",
    goal: "new thread → first result via the worker, sequential, p50",
    value: seq,
    unit: "ms",
    target: "< 150",
    met: judge(seq, (v) => v < 150),
    note: `of which POST /v1/threads ${MS(p50(rows, "new-thread.sequential.create"))}`,
  });
  const wall = num(p50(rows, "new-thread.burst.wall"));
  const size = extra(rows, "new-thread.burst.wall", "burst_size");
  add({
    id: "i18.new-thread.burst-wall",
    goal: `new thread → first result, burst of ${size ?? "N"} at once: wall time`,
    value: wall,
    unit: "ms",
    target: "< 1500",
    met: judge(wall, (v) => v < 1500),
    note: `success ${extra(rows, "new-thread.burst", "success_rate") ?? "-"}`,
  });
  const overProot = delta(p50(rows, "exec.worker.proot"), p50(rows, "exec.layer.proot.0"));
  add({
    id: "i18.exec.worker-over-proot-alone",
    goal: `exec "true" via the worker (proot) minus the bare proot spawn (proot alone)`,
    value: overProot,
    unit: "ms",
    target: "≤ 0",
    met: judge(overProot, (v) => v <= 0),
    note: `worker ${MS(p50(rows, "exec.worker.proot"))}, proot alone ${MS(p50(rows, "exec.layer.proot.0"))}`,
  });
  if (backends.includes("bwrap")) {
    const bw = num(p50(rows, "exec.runtime.bwrap"));
    add({
      id: "i18.exec.bwrap-runtime",
      goal: `exec "true" via the runtime API (bwrap), p50`,
      value: bw,
      unit: "ms",
      target: "≤ 20",
      met: judge(bw, (v) => v <= 20),
      note: `bwrap alone ${MS(p50(rows, "exec.layer.bwrap.0"))}, exact command bare ${MS(p50(rows, "exec.bare.bwrap"))}`,
    });
  }
  for (const b of backends) {
    const target = IMPORT_TARGET[b];
    if (target === undefined) continue;
    const v = ratio(p50(rows, `import.run-python.${b}`), p50(rows, `import.bare.${b}`));
    add({
      id: `i18.import.${b}`,
      goal: `one-shot run_python importing pandas + matplotlib (${b}) / bare python3`,
      value: v,
      unit: "×",
      target: `≤ ${target}`,
      met: judge(v, (x) => x <= target),
      note: `exact sandbox command bare: ${X(ratio(p50(rows, `import.bare-sandbox.${b}`), p50(rows, `import.bare.${b}`)))}`,
    });
  }
  // Another proot build (BENCH_PROOT_ALT), when the run had one: the same command lines, reported, not judged.
  if (p50(rows, "import.bare-sandbox.proot-alt") !== undefined) {
    add({
      id: "i18.import.proot-alt",
      goal: "python3 importing pandas + matplotlib under the exact sandbox command with the other proot / bare python3",
      value: ratio(p50(rows, "import.bare-sandbox.proot-alt"), p50(rows, "import.bare.proot")),
      unit: "×",
      target: "report (lower is better)",
      met: null,
      note: `the same with the runtime's proot: ${X(ratio(p50(rows, "import.bare-sandbox.proot"), p50(rows, "import.bare.proot")))}`,
    });
  }
  if (p50(rows, "exec.bare.proot-alt") !== undefined) {
    add({
      id: "i18.exec.proot-alt",
      goal: `exec "true": the exact command with the other proot minus with the runtime's proot`,
      value: delta(p50(rows, "exec.bare.proot-alt"), p50(rows, "exec.bare.proot")),
      unit: "ms",
      target: "report (lower is better)",
      met: null,
      note: `alone: ${MS(p50(rows, "exec.layer.proot-alt.0"))} vs ${MS(p50(rows, "exec.layer.proot.0"))}`,
    });
  }
  const cell = ratio(p50(rows, "cell.worker"), p50(rows, "cell.floor.worker-health"));
  add({
    id: "i18.cell-over-floor",
    goal: "stateful cell via the worker / the worker's floor (GET /v1/health), same rounds",
    value: cell,
    unit: "×",
    target: "≤ 1.3",
    met: judge(cell, (v) => v <= 1.3),
    note: `cell ${MS(p50(rows, "cell.worker"))}, floor ${MS(p50(rows, "cell.floor.worker-health"))}, runtime API ${MS(p50(rows, "cell.runtime"))}`,
  });
  const cached = num(p50(rows, "packages.second"));
  add({
    id: "i18.install-cached",
    goal: "cached wheel into a second thread via the worker, p50",
    value: cached,
    unit: "ms",
    target: "≤ 1000",
    met: judge(cached, (v) => v <= 1000),
    note: backends
      .map((b) => `${b} via runtime ${MS(p50(rows, `packages.second.${b}`))}`)
      .join(", "),
  });
  const mem = num(extra(rows, "concurrency.context", "tree_rss_per_context_mib"));
  add({
    id: "i18.context-memory",
    goal: "idle Python context: RSS of its process tree (from /proc, per context)",
    value: mem,
    unit: "MiB",
    target: "≤ 20",
    met: judge(mem, (v) => v <= 20),
    note: `the runtime's own rss_bytes ${extra(rows, "concurrency.context", "context_rss_p50_mb") ?? "-"} MiB; PSS ${extra(rows, "concurrency.context", "tree_pss_per_context_mib") ?? "-"} MiB`,
  });
  return goals;
}
