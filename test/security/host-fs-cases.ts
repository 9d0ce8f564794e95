import { lstat, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type ExecResult, ExecResultSchema, InstallResultSchema, RunPythonResponseSchema } from "../../shared/src/index.ts";
import { type PackageIndex, startPackageIndex } from "../runtime/package-index.ts";
import { newMarker, poll } from "./hostile.ts";
import { scanProcesses } from "./processes.ts";
import { useTarget } from "./suite.ts";
import { type Backend, TENANT, type Target, runtimeTarget } from "./target.ts";

/*
 * SECURITY.md, "Host-side file access audit": what the runtime itself (root) does on data the sandbox can write. A
 * program plants links, FIFOs and sockets where the runtime reads, and swaps directories for links to another
 * thread's workspace (it knows the host layout) while the runtime deletes or lists; the runtime must never follow
 * them, hang on them or answer with what it found behind them.
 */

/** Files in each victim directory: enough that a path-walking delete spends a while in a swapped directory. */
const FILES = 400;

/** The victim's host directory that a swapped link points at (`keep-<label>` in its workspace). */
const victimDir = (t: Target, thread: string, label: string) => path.join(t.dir(thread), `keep-${label}`);

/**
 * Python that ignores SIGTERM and, in a process (FORK) or thread per group of spots, fills each spot with FILES files,
 * then keeps swapping it for a link to its target and back (renameat2 RENAME_EXCHANGE, so the name is never missing);
 * `/started-<first spot>` says the swapping began. With RUNS_TARGET, the spots are `x0`…`x7` of every run directory
 * that says `x-ready` (the run's own code filled them), and `/swapping-<run>` tells the run it may end.
 */
const SWAPPER = `
import ctypes, json, os, signal, threading, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
FILES = int(os.environ.get("FILES", "${FILES}"))
libc = ctypes.CDLL(None, use_errno=True)
RENAMEAT2 = {"x86_64": 316, "aarch64": 276}.get(os.uname().machine)

def exchange(a, b):
    """renameat2(RENAME_EXCHANGE): the name is always one of the two, never missing."""
    return RENAMEAT2 is not None and libc.syscall(RENAMEAT2, -100, a.encode(), -100, b.encode(), 2) == 0

def fill(spot):
    if not os.path.isdir(spot):
        os.makedirs(spot, exist_ok=True)
        for i in range(FILES):
            open("%s/f%d" % (spot, i), "w").close()

def swap(pairs, flag):
    """Keeps swapping each spot (a directory full of files) for a link to its target and back."""
    for spot, target in pairs:
        fill(spot)
        try:
            os.symlink(target, spot + ".swap")
        except OSError:
            pass
    first = True
    while True:
        for spot, target in pairs:
            if exchange(spot, spot + ".swap"):
                continue
            if RENAMEAT2 is None:
                steps = [lambda: os.rename(spot, spot + ".real"), lambda: os.symlink(target, spot),
                         lambda: os.unlink(spot), lambda: os.rename(spot + ".real", spot)]
            else:
                # One of the two names was removed under us: put a link back.
                steps = [lambda: os.symlink(target, spot), lambda: os.symlink(target, spot + ".swap")]
            for step in steps:
                try:
                    step()
                except OSError:
                    pass
        time.sleep(0.001)
        if first:
            open(flag, "w").close()
            first = False

def watch_runs(target):
    seen = set()
    while True:
        try:
            runs = os.listdir("/.threadbox/runs")
        except OSError:
            runs = []
        for run in runs:
            if run not in seen and os.path.exists("/.threadbox/runs/%s/x-ready" % run):
                seen.add(run)
                pairs = [("/.threadbox/runs/%s/x%d" % (run, i), target) for i in range(8)]
                threading.Thread(target=swap, args=(pairs, "/swapping-" + run), daemon=True).start()
        time.sleep(0.002)

# Groups of [spot, target] pairs, each swapped by its own process (exec: FORK) or thread (a context's background).
for group in json.loads(os.environ.get("SPOTS", "[]")):
    flag = "/started-" + group[0][0].replace("/", "_")
    if not os.environ.get("FORK"):
        threading.Thread(target=swap, args=(group, flag), daemon=True).start()
    elif os.fork() == 0:
        swap(group, flag)
if os.environ.get("RUNS_TARGET"):
    threading.Thread(target=watch_runs, args=(os.environ["RUNS_TARGET"],), daemon=True).start()
`;

/** Spots one process (or thread) keeps swapping, each with its link's target. */
type Group = [string, string][];

/** `count` spots named `<base>0`… all pointing at `target`: several, so a path walk is sure to meet one mid-swap. */
const spotsAt = (base: string, target: string, count = 8): Group => Array.from({ length: count }, (_, i) => [`${base}${i}`, target]);

/** The swapper as an exec that lives until it is killed. */
const SWAPPER_EXEC = `${SWAPPER}\nwhile True:\n    time.sleep(1)\n`;

/** The swapper started in a context: the cell returns, its threads go on in the interpreter. */
const swapperCell = (env: { SPOTS?: Group[]; RUNS_TARGET?: string; FILES?: number }) =>
  `import os\nos.environ.update(${JSON.stringify(
    Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
  )})\nexec(${JSON.stringify(SWAPPER)})\n`;

/** A run's own code: fills `x` in its run directory, says so, and ends once the context swaps it. */
const RUN_FILLS_X = `
import os, sys, time
d = os.path.dirname(os.path.abspath(sys.argv[0]))
for x in range(8):
    os.makedirs("%s/x%d" % (d, x))
    for i in range(${FILES}):
        open("%s/x%d/f%d" % (d, x, i), "w").close()
open(d + "/x-ready", "w").close()
for _ in range(2000):
    if os.path.exists("/swapping-" + os.path.basename(d)):
        break
    time.sleep(0.005)
print("ready")
`;

/** The same from JavaScript, whose run directory is the runtime's: it puts a directory of its own in its place. */
const RUN_CODE_FILLS_X = `
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
const id = path.basename(path.dirname(fileURLToPath(import.meta.url)));
fs.renameSync("/.threadbox/runs", "/.threadbox/runs-orig-" + id);
const d = "/.threadbox/runs/" + id;
for (let x = 0; x < 8; x++) {
  fs.mkdirSync(d + "/x" + x, { recursive: true });
  for (let i = 0; i < ${FILES}; i++) fs.writeFileSync(d + "/x" + x + "/f" + i, "");
}
fs.writeFileSync(d + "/x-ready", "");
const nap = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0; i < 2000 && !fs.existsSync("/swapping-" + id); i++) Atomics.wait(nap, 0, 0, 5);
console.log("ready");
`;

async function exec(t: Target, thread: string, command: string, env: Record<string, string> = {}, cwd?: string): Promise<ExecResult> {
  const res = await t.rt.call("POST", `/threads/${TENANT}/${thread}/exec`, { body: { command, env, timeout: 120, ...(cwd ? { cwd } : {}) } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`exec on ${thread}: ${res.status} ${text}`);
  return ExecResultSchema.parse(JSON.parse(text));
}

/** Settles with `p`, or fails saying the call hung (a bound on a hang, not a speed requirement). */
async function answered<T>(p: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms / 1000} s (the runtime hangs)`)), ms);
  });
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** A victim thread with FILES files in `keep-<label>` for each label. */
async function makeVictim(t: Target, thread: string, labels: string[]): Promise<void> {
  await t.createThread(thread);
  const fill = labels.map((l) => `mkdir -p /keep-${l} && for i in $(seq 0 ${FILES - 1}); do : > /keep-${l}/f$i; done`).join(" && ");
  expect((await exec(t, thread, `${fill} && echo filled`)).stdout).toBe("filled\n");
}

async function expectVictimIntact(t: Target, thread: string, labels: string[]): Promise<void> {
  for (const label of labels) {
    const names = await readdir(victimDir(t, thread, label));
    expect.soft(names.length, `another thread's files were deleted through a link (${label})`).toBe(FILES);
  }
}

/** The thread's state, its manifest through the file API and a listing: none may show the secret. */
async function expectNoSecretAnswers(t: Target, thread: string, secret: string): Promise<void> {
  const answers = await Promise.all([
    t.rt.call("GET", `/threads/${TENANT}/${thread}`),
    t.rt.call("GET", `/threads/${TENANT}/${thread}/files/pyproject.toml`),
    t.rt.call("GET", `/threads/${TENANT}/${thread}/files?recursive=1`),
  ]);
  for (const a of answers) {
    const body = await a.text();
    expect(a.status, body).toBeLessThan(500);
    expect(body).not.toContain(secret);
  }
}

const exists = async (p: string) => (await lstat(p).catch(() => null)) !== null;

/** Waits (bounded) for a flag file the sandbox writes in its workspace. */
async function flagged(t: Target, thread: string, name: string): Promise<void> {
  const seen = await poll(() => exists(path.join(t.dir(thread), name)), (v) => v, 600);
  expect(seen, `the program never wrote ${name}`).toBe(true);
}

export function hostFsTests(backend: Backend): void {
  describe(`host-side file access under ${backend}`, () => {
    let index: PackageIndex | undefined;
    const target = useTarget(
      async () => {
        index = await startPackageIndex([{ name: "tbx-hello", version: "1.0.0" }]);
        // A long kill grace: a program ignoring SIGTERM outlives a DELETE by that long unless the DELETE waits.
        return runtimeTarget(backend, { PIP_INDEX_URL: index.url, KILL_GRACE_MS: "3000" });
      },
      async (t) => {
        await t.rt.stop();
        await index?.stop();
      },
    );

    it("H1: a .pth swapping pyproject.toml for a link to a root-only host file during an install leaks nothing", { timeout: 240_000 }, async () => {
      const t = target();
      const m = newMarker();
      const thread = `h1-${m}`;
      const secret = `tbx-secret-${m}`;
      const secretFile = path.join(t.rt.root, `secret-${m}`);
      const secretText = `[project]\ndependencies = ["${secret}-dep"]\n[tool.threadbox]\nresolved = ["${secret}"]\n`;
      await writeFile(secretFile, secretText, { mode: 0o600 });
      await t.createThread(thread);
      // Runs at every start of the venv's interpreter: pip's, the version check's, any of the thread's.
      const pth = `import os; os.path.islink("/pyproject.toml") or (os.path.lexists("/pyproject.toml") and os.unlink("/pyproject.toml"), os.symlink(${JSON.stringify(secretFile)}, "/pyproject.toml"))`;
      const plant = await exec(
        t,
        thread,
        `SP=$(/.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && printf '%s\\n' "$PTH" > "$SP/000-swap.pth" && echo planted`,
        { PTH: pth },
      );
      expect(plant.stdout, plant.stderr).toBe("planted\n");

      const res = await t.rt.call("POST", `/threads/${TENANT}/${thread}/packages`, { body: { packages: ["tbx-hello"] } });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(text).not.toContain(secret);
      expect(InstallResultSchema.parse(JSON.parse(text)).ok, text).toBe(true);

      // What the install wrote in the workspace (a file, or the link the .pth planted again) and what the API shows.
      const manifest = path.join(t.dir(thread), "pyproject.toml");
      if ((await lstat(manifest)).isFile()) expect(await readFile(manifest, "utf8")).not.toContain(secret);
      await expectNoSecretAnswers(t, thread, secret);
      // Another interpreter start plants the link again; the runtime's reads must not follow it.
      await exec(t, thread, "/.venv/bin/python -c pass");
      expect((await lstat(manifest)).isSymbolicLink(), "the .pth did not plant its link").toBe(true);
      await expectNoSecretAnswers(t, thread, secret);
      // The host file is as it was: never written through the link either.
      expect(await readFile(secretFile, "utf8")).toBe(secretText);
      expect(((await stat(secretFile)).mode & 0o777).toString(8)).toBe("600");
    });

    it("H3: DELETE while an exec ignoring SIGTERM and a context's background thread swap directories of the workspace, /tmp and the venv for links to another thread", { timeout: 240_000 }, async () => {
      const t = target();
      const m = newMarker();
      const attacker = `h3-${m}`;
      const victim = `h3v-${m}`;
      const labels = ["ws", "tmp", "venv", "ctx"];
      await Promise.all([t.createThread(attacker), makeVictim(t, victim, labels)]);
      const spots: Group[] = [
        spotsAt("/d", victimDir(t, victim, "ws")),
        spotsAt("/tmp/d", victimDir(t, victim, "tmp")),
        spotsAt("/.venv/d", victimDir(t, victim, "venv")),
      ];
      const ctx = await t.rt.json<{ id: string }>("POST", `/threads/${TENANT}/${attacker}/contexts`, { language: "python" }, 201);
      const cell = await t.rt.json<{ ok: boolean }>("POST", `/threads/${TENANT}/${attacker}/contexts/${ctx.id}/run`, {
        code: swapperCell({ SPOTS: [spotsAt("/c", victimDir(t, victim, "ctx"))] }),
      });
      expect(cell.ok, JSON.stringify(cell)).toBe(true);
      const running = exec(t, attacker, 'exec python3 -c "$PROG"', { PROG: SWAPPER_EXEC, SPOTS: JSON.stringify(spots), FORK: "1" });
      for (const spot of ["/d0", "/tmp/d0", "/.venv/d0", "/c0"]) await flagged(t, attacker, `started-${spot.replaceAll("/", "_")}`);

      const uid = (await stat(t.dir(attacker))).uid;
      let settled = false;
      const deleting = t.rt.call("DELETE", `/threads/${TENANT}/${attacker}`).finally(() => (settled = true));
      // While the deletion waits for the thread's processes, nothing new starts in the thread.
      const during: number[] = [];
      for (let i = 0; i < 100 && !settled && !during.includes(429); i++) {
        during.push((await t.rt.call("POST", `/threads/${TENANT}/${attacker}/exec`, { body: { command: "true" } })).status);
      }
      const res = await deleting;
      const text = await res.text();
      // The answer comes once the thread is dead: no process of its uid is left (zombies aside).
      const left = (await scanProcesses()).filter((p) => p.uid === uid && p.state !== "Z");
      const out = await running;
      await expectVictimIntact(t, victim, labels);
      expect(res.status, text).toBe(200);
      expect(JSON.parse(text)).toEqual({ deleted: true });
      expect(left.map((p) => `${p.pid} ${p.cmdline}`), "processes of the thread outlived its deletion").toEqual([]);
      expect(during, "an exec started in the thread while it was being deleted").toContain(429);
      expect(out.canceled).toBe(true);
      expect(await exists(t.dir(attacker)), "the deleted thread's workspace is still there").toBe(false);
      const state = path.join(t.rt.root, "state");
      expect(await exists(path.join(state, "venvs", TENANT, attacker)), "its venv is still there").toBe(false);
      expect(await exists(path.join(state, "tmp", TENANT, attacker)), "its private tmp is still there").toBe(false);
    });

    /** A context swapping `x` of every run directory the run filled, for the run that `run` starts. */
    async function runDirCase(kind: "py" | "js", run: (attacker: string) => Promise<Response>): Promise<void> {
      const t = target();
      const m = newMarker();
      const attacker = `h5${kind}-${m}`;
      const victim = `h5${kind}v-${m}`;
      await Promise.all([t.createThread(attacker), makeVictim(t, victim, [kind])]);
      const ctx = await t.rt.json<{ id: string }>("POST", `/threads/${TENANT}/${attacker}/contexts`, { language: "python" }, 201);
      const code = swapperCell({ RUNS_TARGET: victimDir(t, victim, kind) });
      expect((await t.rt.json<{ ok: boolean }>("POST", `/threads/${TENANT}/${attacker}/contexts/${ctx.id}/run`, { code })).ok).toBe(true);
      const res = await run(attacker);
      const text = await res.text();
      await expectVictimIntact(t, victim, [kind]);
      expect(res.status, text).toBe(200);
      const stdout = kind === "py" ? RunPythonResponseSchema.parse(JSON.parse(text)).metadata.stdout : ExecResultSchema.parse(JSON.parse(text)).stdout;
      expect(stdout, text).toBe("ready\n");
      expect(await t.rt.json("DELETE", `/threads/${TENANT}/${attacker}`)).toEqual({ deleted: true });
      await expectVictimIntact(t, victim, [kind]);
    }

    it("H4: a run_python run directory swapped for a link to another thread by a context while the runtime removes it", { timeout: 240_000 }, () =>
      runDirCase("py", (attacker) => target().rt.call("POST", `/threads/${TENANT}/${attacker}/run_python`, { body: { code: RUN_FILLS_X } })),
    );

    it("H5: a run_code run directory replaced by the code and swapped by a context while the runtime removes it", { timeout: 240_000 }, () =>
      runDirCase("js", (attacker) =>
        target().rt.call("POST", `/threads/${TENANT}/${attacker}/run_code`, { body: { language: "javascript", code: RUN_CODE_FILLS_X } }),
      ),
    );

    it("H6: files_created never names what is behind a planted link or a swapped directory", { timeout: 240_000 }, async () => {
      const t = target();
      const m = newMarker();
      const thread = `h6-${m}`;
      const hostDir = path.join(t.rt.root, `host-${m}`);
      await mkdir(hostDir, { mode: 0o755 });
      for (let i = 0; i < 5; i++) await writeFile(path.join(hostDir, `leak-${m}-${i}`), "host");
      await t.createThread(thread);
      expect((await exec(t, thread, 'ln -s "$HOST" /lnk && echo ok', { HOST: hostDir })).stdout).toBe("ok\n");
      const ctx = await t.rt.json<{ id: string }>("POST", `/threads/${TENANT}/${thread}/contexts`, { language: "python" }, 201);
      const spots = [spotsAt("/s/d", hostDir, 30)];
      expect((await t.rt.json<{ ok: boolean }>("POST", `/threads/${TENANT}/${thread}/contexts/${ctx.id}/run`, { code: swapperCell({ SPOTS: spots, FILES: 0 }) })).ok).toBe(true);
      await flagged(t, thread, "started-_s_d0");
      const created: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = RunPythonResponseSchema.parse(await t.rt.json("POST", `/threads/${TENANT}/${thread}/run_python`, { code: `open("made-${i}.txt", "w").write("x")` }));
        expect(r.is_error, r.metadata.stderr).toBe(false);
        created.push(...r.metadata.files_created);
      }
      expect(created).toContain("made-0.txt");
      expect(created.filter((f) => f.includes("leak-")), "host file names in files_created").toEqual([]);
      await t.rt.json("DELETE", `/threads/${TENANT}/${thread}`);
    });

    it("H7: a working directory reached through a link is refused like a missing one (no host existence oracle)", async () => {
      const t = target();
      const m = newMarker();
      const thread = `h7-${m}`;
      const hostDir = path.join(t.rt.root, `host-${m}`);
      await mkdir(path.join(hostDir, "sub"), { recursive: true, mode: 0o755 });
      await t.createThread(thread);
      expect((await exec(t, thread, 'ln -s "$HOST" /l && echo ok', { HOST: hostDir })).stdout).toBe("ok\n");
      for (const cwd of ["/l/sub", "/l/missing"]) {
        const res = await t.rt.call("POST", `/threads/${TENANT}/${thread}/exec`, { body: { command: "pwd", cwd } });
        const text = await res.text();
        expect(res.status, `cwd ${cwd}: ${text}`).toBe(400);
        expect(JSON.parse(text).error.code).toBe("INVALID_PATH");
      }
    });

    it("H8: a venv whose bin/ is a link out is not taken for a usable venv", async () => {
      const t = target();
      const m = newMarker();
      const thread = `h8-${m}`;
      const hostDir = path.join(t.rt.root, `host-${m}`);
      await mkdir(hostDir, { mode: 0o755 });
      await writeFile(path.join(hostDir, "python"), "#!/bin/sh\n", { mode: 0o755 });
      await t.createThread(thread);
      expect((await exec(t, thread, 'mv /.venv/bin /.venv/bin.orig && ln -s "$HOST" /.venv/bin && echo ok', { HOST: hostDir })).stdout).toBe("ok\n");
      const info = await t.rt.json<{ configured: boolean }>("GET", `/threads/${TENANT}/${thread}`);
      expect(info.configured).toBe(false);
      // The next call rebuilds the venv rather than trusting it.
      expect((await exec(t, thread, "/.venv/bin/python -c 'print(1)'")).stdout).toBe("1\n");
    });

    // A rebuild replaces the venv (the old one removed) and tidies the workspace's `.venv` (bwrap's mount point for it)
    // while a context of the thread keeps swapping directories there for links. Under bwrap the runs before the switch
    // remove the stale mount points (sandbox/stubs.ts), which detaches the context's /.venv: its swaps then land in the
    // workspace's `.venv`, whose removal used to fail the set-up (500). Under proot the context follows the new venv.
    it.runIf(backend === "bwrap")("H9: a venv rebuilt while a context swaps directories under /.venv for links to another thread", { timeout: 240_000 }, async () => {
      const t = target();
      const m = newMarker();
      const attacker = `h9-${m}`;
      const victim = `h9v-${m}`;
      await Promise.all([t.createThread(attacker), makeVictim(t, victim, ["venv"])]);
      const ctx = await t.rt.json<{ id: string }>("POST", `/threads/${TENANT}/${attacker}/contexts`, { language: "python" }, 201);
      const code = swapperCell({ SPOTS: [spotsAt("/.venv/r", victimDir(t, victim, "venv"), 16)] });
      expect((await t.rt.json<{ ok: boolean }>("POST", `/threads/${TENANT}/${attacker}/contexts/${ctx.id}/run`, { code })).ok).toBe(true);
      await flagged(t, attacker, "started-_.venv_r0");
      // A venv without its interpreter is rebuilt by the next call: a new one switched in, the old one removed.
      expect((await exec(t, attacker, "rm /.venv/bin/python && echo removed")).stdout).toBe("removed\n");
      const res = await t.rt.call("POST", `/threads/${TENANT}/${attacker}/exec`, { body: { command: "/.venv/bin/python -c 'print(2)'" } });
      const text = await res.text();
      await expectVictimIntact(t, victim, ["venv"]);
      expect(res.status, text).toBe(200);
      expect(ExecResultSchema.parse(JSON.parse(text)).stdout).toBe("2\n");
      expect(await t.rt.json("DELETE", `/threads/${TENANT}/${attacker}`)).toEqual({ deleted: true });
      await expectVictimIntact(t, victim, ["venv"]);
      const venvs = await readdir(path.join(t.rt.root, "state", "venvs", TENANT));
      expect(venvs.filter((n) => n.startsWith(attacker)), "venvs of the deleted thread left behind").toEqual([]);
    });

    // Last: on a runtime that blocks on the FIFO, every later file operation would hang too.
    it("H2: a FIFO, socket, directory or link as pyproject.toml: thread info answers at once, file I/O goes on for other threads", { timeout: 240_000 }, async () => {
      const t = target();
      const m = newMarker();
      const secretFile = path.join(t.rt.root, `secret2-${m}`);
      await writeFile(secretFile, `[tool.threadbox]\nresolved = ["tbx-secret2-${m}"]\n`, { mode: 0o600 });
      const kinds: Record<string, string> = {
        fifo: "mkfifo /pyproject.toml",
        socket: `python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('/pyproject.toml')"`,
        dir: "mkdir /pyproject.toml",
        link: 'ln -s "$SECRET" /pyproject.toml',
      };
      const threads = Object.fromEntries(Object.keys(kinds).map((k) => [k, `h2${k}-${m}`]));
      const other = `h2other-${m}`;
      await Promise.all([...Object.values(threads), other].map((th) => t.createThread(th)));
      for (const [kind, cmd] of Object.entries(kinds)) {
        const r = await exec(t, threads[kind] as string, `rm -f /pyproject.toml && ${cmd} && echo made`, { SECRET: secretFile });
        expect(r.stdout, r.stderr).toBe("made\n");
      }
      // More concurrent reads of the FIFO than the thread pool has threads (4 by default).
      const infos = await answered(
        Promise.all([
          ...Array.from({ length: 6 }, () => t.rt.call("GET", `/threads/${TENANT}/${threads.fifo}`)),
          ...Object.values(threads).map((th) => t.rt.call("GET", `/threads/${TENANT}/${th}`)),
        ]),
        "GET /threads with a FIFO as pyproject.toml",
      );
      for (const res of infos) {
        const text = await res.text();
        expect(res.status, text).toBe(200);
        expect(text).not.toContain("tbx-secret2");
        expect(JSON.parse(text).packages).toEqual([]);
      }
      const put = await answered(t.rt.call("PUT", `/threads/${TENANT}/${other}/files/after.txt`, { raw: "still serving" }), "an upload to another thread");
      expect(put.status).toBe(201);
      const get = await answered(t.rt.call("GET", `/threads/${TENANT}/${other}/files/after.txt`), "a download from another thread");
      expect(await get.text()).toBe("still serving");
      // An install into the FIFO thread ends (the manifest is rewritten) rather than hanging.
      const res = await answered(t.rt.call("POST", `/threads/${TENANT}/${threads.fifo}/packages`, { body: { packages: ["tbx-hello"] } }), "an install");
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(InstallResultSchema.parse(JSON.parse(text)).ok, text).toBe(true);
    });
  });
}
