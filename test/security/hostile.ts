import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import type { ExpectStatic } from "vitest";
import { ExecResultSchema, type ExecResult, type NetworkPolicyView, RunPythonResponseSchema, type RunPythonResponse } from "../../shared/src/index.ts";
import { describeProcs, processesOf, type RunIdentity } from "./processes.ts";
import type { Backend, Posted, Route, Target } from "./target.ts";

/**
 * One row of SECURITY.md's hostile-input table, and the runner that submits it and checks what every row must
 * leave behind: no process of the run (zombies included), the same server process alive and answering, and a
 * short run on another thread of the same runtime finishing normally while (or right after) the hostile one ran.
 */
export interface CaseContext {
  target: Target;
  expect: ExpectStatic;
  /** Unique per case: in the run's environment (TBX_MARK), thread names and file names. */
  marker: string;
  thread: string;
  /** The other thread, whose `echo` must succeed alongside. */
  bystander: string;
  /** Host directory of the case's workspace. */
  dir: string;
}

export interface Outcome {
  status: number;
  bytes: Uint8Array;
  text: string;
  /** The exec result (exec route, 200). */
  exec: ExecResult;
  /** The run_python result (run_python route, 200). */
  py: RunPythonResponse;
}

export interface HostileCase {
  id: string;
  /** SECURITY.md's "program" column, briefly. */
  title: string;
  route: Route;
  body(ctx: CaseContext): Record<string, unknown>;
  /** Backends the case applies to (all by default). */
  backends?: readonly Backend[];
  /** Why the case cannot run on this machine (the test is skipped with it). */
  skip?: string;
  /** Thread settings (network: "none"). */
  setup?: { network?: "none" | NetworkPolicyView };
  /** Host-side preparation after the threads exist (decoys, a setuid binary). */
  prepare?(ctx: CaseContext): Promise<void>;
  /** Runs once the program's processes exist, alongside the bystander (R11 kills proot, X11 uploads). */
  during?(ctx: CaseContext, settled: () => boolean): Promise<void>;
  /** SECURITY.md's "expected" column. */
  check(out: Outcome, ctx: CaseContext): Promise<void> | void;
}

export const newMarker = () => `tbx${randomBytes(5).toString("hex")}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds or `tries` run out (each try waits `stepMs`); returns the last answer. */
export async function poll<T>(fn: () => Promise<T>, done: (v: T) => boolean, tries: number, stepMs = 100): Promise<T> {
  let v = await fn();
  for (let i = 0; i < tries && !done(v); i++) {
    await sleep(stepMs);
    v = await fn();
  }
  return v;
}

function withMarker(route: Route, body: Record<string, unknown>, marker: string): Record<string, unknown> {
  const key = route === "exec" ? "env" : "environment";
  return { ...body, [key]: { ...(body[key] as Record<string, string> | undefined), TBX_MARK: marker } };
}

function outcome(route: Route, posted: Posted): Outcome {
  const text = new TextDecoder().decode(posted.bytes);
  const json = posted.status === 200 ? JSON.parse(text) : null;
  const missing = () => {
    throw new Error(`no ${route} result: ${posted.status} ${text.slice(0, 2000)}`);
  };
  return {
    ...posted,
    text,
    get exec() {
      return route === "exec" && json ? ExecResultSchema.parse(json) : missing();
    },
    get py() {
      return route === "run_python" && json ? RunPythonResponseSchema.parse(json) : missing();
    },
  };
}

/** The thread's own uid, when threads do not share one (else the uid says nothing about this run). */
async function threadUid(target: Target, thread: string, other: string): Promise<number | null> {
  const [a, b] = await Promise.all([stat(target.dir(thread)).catch(() => null), stat(target.dir(other)).catch(() => null)]);
  return !a || !b || a.uid === b.uid || a.uid === 0 ? null : a.uid;
}

/** Submits the case, runs the bystander alongside, then checks the teardown and the case's expected outcome. */
export async function runHostile(target: Target, c: HostileCase, expect: ExpectStatic): Promise<void> {
  const marker = newMarker();
  const ctx: CaseContext = {
    target,
    expect,
    marker,
    thread: `${c.id.toLowerCase()}-${marker}`,
    bystander: `by-${marker}`,
    dir: target.dir(`${c.id.toLowerCase()}-${marker}`),
  };
  // Set up both workspaces first: the hostile run and the bystander are then plain runs, not first-time set-ups.
  await Promise.all([target.createThread(ctx.thread, c.setup), target.createThread(ctx.bystander)]);
  const run: RunIdentity = { marker, uid: await threadUid(target, ctx.thread, ctx.bystander), runtimePid: target.pid };
  await c.prepare?.(ctx);

  let settled = false;
  const posted = target.post(ctx.thread, c.route, withMarker(c.route, c.body(ctx), marker)).finally(() => (settled = true));
  // Wait (bounded) for the program's processes, so the bystander and `during` overlap the hostile run.
  await poll(() => processesOf(run), (p) => p.length > 0 || settled, 300);
  const bystander = target.post(ctx.bystander, "exec", { command: `echo bystander-${marker}`, timeout: 120 });
  await c.during?.(ctx, () => settled);
  const [hostile, other] = await Promise.all([posted, bystander]);

  const by = outcome("exec", other);
  expect.soft(by.status, `bystander: ${by.text.slice(0, 500)}`).toBe(200);
  if (by.status === 200) expect.soft(by.exec).toMatchObject({ exit_code: 0, stdout: `bystander-${marker}\n` });

  const left = await poll(() => processesOf(run), (p) => p.length === 0, 50);
  expect.soft(left, `processes of the run left behind:\n${describeProcs(left)}`).toEqual([]);
  await expectServerAlive(target, expect);

  await c.check(outcome(c.route, hostile), ctx);
}

/** A plain command on a thread, for checks that look from another thread; the call itself must succeed. */
export async function execOn(target: Target, thread: string, command: string): Promise<ExecResult> {
  const out = outcome("exec", await target.post(thread, "exec", { command, timeout: 60 }));
  return out.exec;
}

/** The runtime that started the suite still runs, with the same pid, and answers its health check. */
export async function expectServerAlive(target: Target, expect: ExpectStatic): Promise<void> {
  const { child } = target.rt;
  expect.soft(child.pid).toBe(target.pid);
  expect.soft(child.exitCode, `the runtime exited:\n${target.rt.logs().slice(-3000)}`).toBeNull();
  expect.soft(child.signalCode).toBeNull();
  const health = await target.rt.call("GET", "/health").catch((e: Error) => e);
  expect.soft(health instanceof Response ? health.status : String(health)).toBe(200);
}

/** At most `n` hostile cases at once per runtime: proot is heavy and the CI machine has two cores. */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    while (running >= n) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
