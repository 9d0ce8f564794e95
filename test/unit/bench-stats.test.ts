import { describe, expect, it } from "vitest";
import { layersOf, replayable, withBackendBinary, withGuest } from "../../bench/command-layers.ts";
import { evaluateGoals } from "../../bench/goals.ts";
import { iterations, parseOptions } from "../../bench/options.ts";
import type { Row } from "../../bench/report.ts";
import { delta, percentile, ratio, summarize } from "../../bench/stats.ts";
import { fmt, formatTable } from "../../bench/table.ts";

// The benchmark harness's pure parts: statistics, goal judging, options, tables, command-line layers. No timing.

describe("bench statistics", () => {
  it("interpolates percentiles between closest ranks", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 50)).toBeCloseTo(50.5);
    expect(percentile(hundred, 95)).toBeCloseTo(95.05);
    expect(percentile(hundred, 99)).toBeCloseTo(99.01);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([3, 1, 2], 0)).toBe(1);
    expect(percentile([3, 1, 2], 100)).toBe(3);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it("summarizes samples in any order, rounded to 2 decimals", () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ n: 4, min: 1, p50: 2.5, p95: 3.85, p99: 3.97, mean: 2.5, max: 4 });
    expect(summarize([]).n).toBe(0);
    expect(summarize([]).p50).toBeNaN();
  });

  it("gives NaN for ratios and differences of missing or zero values", () => {
    expect(ratio(30, 10)).toBe(3);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(undefined, 2)).toBeNaN();
    expect(delta(12.345, 2)).toBe(10.35);
    expect(delta(Number.NaN, 2)).toBeNaN();
  });
});

const r = (id: string, p50: number, extra?: Row["extra"]): Row => ({ id, scenario: 0, label: id, stats: { ...summarize([p50]) }, extra });

describe("bench goals", () => {
  it("judges issue 8's goals on the same run's rows, and says unknown when a row is missing", () => {
    const rows = [
      r("exec.bare.proot", 80),
      r("exec.runtime.proot", 95),
      r("exec.worker.proot", 99),
      r("new-thread.sequential", 120),
      r("cell.worker", 4),
      r("cell.jupyter", 10),
      r("import.bare.proot", 1000),
      r("import.run-python.proot", 2500),
      r("concurrency.run-python", 500, { success_rate: 1 }),
    ];
    const goals = Object.fromEntries(evaluateGoals(rows, ["proot"]).map((g) => [g.id, g]));
    expect(goals["runtime-overhead.proot"]).toMatchObject({ issue: 8, value: 15, met: false });
    expect(goals["worker-overhead"]).toMatchObject({ value: 4, met: true });
    expect(goals["new-thread.sequential"]).toMatchObject({ value: 120, met: true });
    expect(goals["new-thread.burst"]?.met).toBeNull();
    expect(goals["stateful-cell"]).toMatchObject({ value: 2.5, met: true });
    expect(goals["import-slowdown.proot"]).toMatchObject({ value: 2.5, met: null });
    expect(goals.concurrency).toMatchObject({ value: 1, met: true });
  });

  it("judges issue 18's goals as differences and ratios of rows of one run, per backend target", () => {
    const rows = [
      r("exec.layer.proot.0", 30),
      r("exec.worker.proot", 45),
      r("exec.layer.bwrap.0", 18),
      r("exec.runtime.bwrap", 20),
      r("new-thread.sequential", 150),
      r("new-thread.burst.wall", 1400, { burst_size: 50 }),
      r("import.bare.proot", 1000),
      r("import.run-python.proot", 1500),
      r("import.bare.bwrap", 1000),
      r("import.run-python.bwrap", 1060),
      r("cell.worker", 13),
      r("cell.floor.worker-health", 10),
      r("packages.second", 1000.5),
      r("concurrency.context", 300, { tree_rss_per_context_mib: 20, context_rss_p50_mb: 23 }),
    ];
    const all = evaluateGoals(rows, ["proot", "bwrap"]);
    const goals = Object.fromEntries(all.filter((g) => g.issue === 18).map((g) => [g.id, g]));
    expect(goals["i18.exec.worker-over-proot-alone"]).toMatchObject({ value: 15, met: false });
    expect(goals["i18.exec.bwrap-runtime"]).toMatchObject({ value: 20, met: true });
    // "< 150" is strict; "≤" targets include the bound.
    expect(goals["i18.new-thread.sequential"]).toMatchObject({ value: 150, met: false });
    expect(goals["i18.new-thread.burst-wall"]).toMatchObject({ value: 1400, met: true });
    expect(goals["i18.new-thread.burst-wall"]?.goal).toContain("burst of 50");
    expect(goals["i18.import.proot"]).toMatchObject({ value: 1.5, met: true, target: "≤ 1.5" });
    expect(goals["i18.import.bwrap"]).toMatchObject({ value: 1.06, met: false, target: "≤ 1.05" });
    expect(goals["i18.cell-over-floor"]).toMatchObject({ value: 1.3, met: true });
    expect(goals["i18.install-cached"]).toMatchObject({ value: 1000.5, met: false });
    expect(goals["i18.context-memory"]).toMatchObject({ value: 20, met: true });
    expect(goals["i18.context-memory"]?.note).toContain("23");
    // Issue 18's goals come first, then issue 8's.
    expect(all.findIndex((g) => g.issue === 8)).toBe(Object.keys(goals).length);
  });

  it("leaves issue 18's goals unknown when their rows are missing, and skips bwrap's when bwrap did not run", () => {
    const goals = evaluateGoals([r("cell.worker", 13)], ["proot"]).filter((g) => g.issue === 18);
    expect(goals.map((g) => g.met)).toEqual(goals.map(() => null));
    expect(goals.some((g) => g.id.includes("bwrap"))).toBe(false);
    expect(goals.map((g) => g.id)).toContain("i18.cell-over-floor");
  });
});

describe("bench options", () => {
  it("reads the environment, lets flags win, and scales iterations", () => {
    const o = parseOptions({ BENCH_QUICK: "1", BENCH_SCENARIOS: "1,3" }, ["--only=2,7", "--backends=proot"]);
    expect(o).toMatchObject({ quick: true, scenarios: [2, 7], backends: ["proot"], burst: 8, concurrency: 8 });
    expect(iterations(o, 200)).toBe(20);
    expect(iterations(o, 5)).toBe(3);
    expect(iterations({ quick: false, scale: 2 }, 5)).toBe(10);
    expect(parseOptions({}, []).concurrency).toBe(64);
    expect(() => parseOptions({}, ["--only=9"])).toThrow(/scenarios are 1–8/);
    expect(() => parseOptions({}, ["oops"])).toThrow(/unknown argument/);
    expect(parseOptions({ BENCH_PROOT_ALT: "/opt/proot" }, []).prootAlt).toBe("/opt/proot");
    expect(() => parseOptions({}, ["--proot-alt=proot"])).toThrow(/absolute path/);
    expect(parseOptions({}, ["--runtime-proot=/opt/proot"]).runtimeProot).toBe("/opt/proot");
  });
});

describe("bench tables", () => {
  it("aligns columns and right-aligns numbers", () => {
    const table = formatTable(["name", "ms"], [["a", "1.5"], ["long name", "12.0"]]);
    expect(table.split("\n")).toEqual(["| name      |   ms |", "|-----------|-----:|", "| a         |  1.5 |", "| long name | 12.0 |"]);
    expect(fmt(Number.NaN)).toBe("-");
    expect(fmt(1234.5)).toBe("1235");
    expect(fmt(0.123, 2)).toBe("0.12");
  });
});

describe("bench command layers", () => {
  const cmd = {
    file: "/x/seccomp-exec",
    args: ["--rlimit-nofile=1024", "--", "unshare", "--pid", "--fork", "--", "setpriv", "--reuid=5", "--", "proot", "-r", "/ws", "-w", "/",
      "/bin/sh", "-c", "SCRIPT", "threadbox-launcher", "/bin/bash", "-c", "true"],
    cwd: "/ws",
    env: { PATH: "/usr/bin" },
  };

  it("builds the command up from the backend alone to the exact command, innermost layer first", () => {
    const layers = layersOf(cmd);
    expect(layers.map((l) => l.label)).toEqual(["proot alone", "+ setpriv", "+ unshare", "+ seccomp-exec", "+ launcher (= exact command)"]);
    expect(layers[0]?.cmd).toMatchObject({ file: "proot", args: ["-r", "/ws", "-w", "/", "/bin/bash", "-c", "true"] });
    expect(layers[1]?.cmd.args.slice(0, 3)).toEqual(["--reuid=5", "--", "proot"]);
    expect(layers.at(-1)?.cmd).toMatchObject({ file: cmd.file, args: cmd.args });
  });

  it("peels a wrapper without options or `--` (a helper that takes its command directly)", () => {
    const bare = { ...cmd, args: ["bwrap", "--bind", "/ws", "/", "--", "/bin/sh", "-c", "S", "threadbox-launcher", "true"] };
    expect(layersOf(bare).map((l) => l.label)).toEqual(["bwrap alone", "+ seccomp-exec", "+ launcher (= exact command)"]);
  });

  it("bwrap alone carries no --seccomp placeholder; it comes back with the launcher that provides the filter", () => {
    const bwrap = {
      ...cmd,
      file: "/x/seccomp-exec",
      args: ["--rlimit=core:0:0", "--cgroup=/sys/fs/cgroup/pids/t/run-1", "--filter=bwrap", "--", "bwrap", "--seccomp", "@SECCOMP_FD@",
        "--bind", "/ws", "/", "--", "/bin/sh", "-c", "S", "threadbox-launcher", "true"],
    };
    const layers = layersOf(replayable(bwrap));
    expect(layers.map((l) => l.label)).toEqual(["bwrap alone", "+ seccomp-exec", "+ launcher (= exact command)"]);
    expect(layers[0]?.cmd).toMatchObject({ file: "bwrap", args: ["--bind", "/ws", "/", "--", "true"] });
    expect(layers[1]?.cmd.args).toEqual(["--rlimit=core:0:0", "--filter=bwrap", "--", "bwrap", "--seccomp", "@SECCOMP_FD@", "--bind", "/ws", "/", "--", "true"]);
    // The run's cgroup is gone after the run: the replay does not try to join it.
    expect(layers.at(-1)?.cmd.args.some((a) => a.startsWith("--cgroup="))).toBe(false);
  });

  it("swaps the guest command and keeps the launcher and every layer", () => {
    const py = withGuest(cmd, ["/.venv/bin/python", "-c", "import pandas"]);
    expect(py.args.slice(-4)).toEqual(["threadbox-launcher", "/.venv/bin/python", "-c", "import pandas"]);
    expect(py.args.slice(0, 3)).toEqual(cmd.args.slice(0, 3));
    expect(() => layersOf({ ...cmd, args: ["--", "sleep", "1"] })).toThrow(/backend|launcher/);
  });

  it("swaps the backend's binary for another build and keeps every layer, option and the guest", () => {
    const alt = withBackendBinary(cmd, "proot", "/opt/proot-5.4/proot");
    expect(alt.args.filter((a) => a.endsWith("proot"))).toEqual(["/opt/proot-5.4/proot"]);
    expect(alt.args.length).toBe(cmd.args.length);
    expect(alt.args.slice(-3)).toEqual(cmd.args.slice(-3));
    // The backend alone (the file itself is proot) is swapped too.
    const alone = layersOf(cmd)[0]?.cmd;
    if (!alone) throw new Error("no layers");
    expect(withBackendBinary(alone, "proot", "/opt/p").file).toBe("/opt/p");
    expect(() => withBackendBinary(cmd, "bwrap", "/opt/b")).toThrow(/no bwrap/);
  });
});
