import { lstat, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResultSchema, type ExecutionEvent, InstallResultSchema } from "../../shared/src/index.ts";
import { contextClient, newThread } from "./context-client.ts";
import { type RuntimeProcess, readEvents, startRuntime } from "./harness.ts";
import { type PackageIndex, startPackageIndex } from "./package-index.ts";

/*
 * Idle venvs (VENV_IDLE_TTL_S, workspace/venv-idle.ts) through a real runtime: a thread's venv is removed once the
 * thread has been idle past the TTL, and its next run rebuilds it from pyproject.toml with the same packages from the
 * loopback index, saying so in `install` events; a thread with a live context keeps its venv.
 */
let index: PackageIndex;
let rt: RuntimeProcess;
const ctx = contextClient(() => rt);

beforeAll(async () => {
  index = await startPackageIndex([{ name: "tbx-idle", version: "1.0.0" }]);
  rt = await startRuntime({ PIP_INDEX_URL: index.url, VENV_IDLE_TTL_S: "2", UPKEEP_INTERVAL_S: "1" });
});
afterAll(async () => {
  await rt?.stop();
  await index?.stop();
});

const python = (thread: string) => path.join(rt.root, "state", "venvs", "acme", thread, "bin", "python");
const exists = async (p: string) => (await lstat(p).catch(() => null)) !== null;

describe("idle venvs", () => {
  it("removes an idle thread's venv and rebuilds it with the same packages on the next run, reported as installs", async () => {
    const idle = newThread("idle");
    const busy = newThread("busy");
    const installed = InstallResultSchema.parse(await rt.json("POST", `/threads/acme/${idle}/packages`, { packages: ["tbx-idle==1.0.0"] }));
    expect(installed).toMatchObject({ ok: true, installed: ["tbx-idle==1.0.0"] });
    // The venv is the thread's to change: links to a host directory and a FIFO planted in it are removed, not followed.
    const hostDir = path.join(rt.root, "host-owned");
    await mkdir(hostDir, { recursive: true });
    await writeFile(path.join(hostDir, "keep.txt"), "root's file\n");
    const planted = ExecResultSchema.parse(
      await rt.json("POST", `/threads/acme/${idle}/exec`, { command: `ln -s ${hostDir} /.venv/lib/evil && mkfifo /.venv/pipe && echo planted` }),
    );
    expect(planted.stdout, planted.stderr).toBe("planted\n");
    // A thread whose context's interpreter lives is never idle, however long ago its last call.
    await rt.json("POST", `/threads/acme/${busy}`, {});
    const context = await ctx.create(busy, { language: "python" });
    expect(await ctx.value(busy, context.id, "1 + 1")).toBe("2");

    // Bounded wait for the reaper (the TTL is 2 s, a sweep every second).
    for (let i = 0; i < 300 && (await exists(python(idle))); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await exists(python(idle))).toBe(false);
    expect(await exists(python(busy))).toBe(true);
    expect(rt.logs()).not.toMatch(/removing an idle venv failed/);
    expect(await readFile(path.join(hostDir, "keep.txt"), "utf8")).toBe("root's file\n");

    const downloads = index.downloads("tbx-idle");
    const events: ExecutionEvent[] = await readEvents(
      await rt.call("POST", `/threads/acme/${idle}/run_python`, {
        body: { code: "import tbx_idle\nprint(tbx_idle.hello())" },
        accept: "sse",
      }),
    );
    const last = events.at(-1);
    if (last?.type !== "result" || last.result.kind !== "run_python") throw new Error(`unexpected ending: ${JSON.stringify(last)}`);
    const response = last.result.value;
    expect(response.is_error, response.metadata.stderr).toBe(false);
    expect(response.metadata.stdout).toMatch(/tbx-idle 1\.0\.0|tbx_idle 1\.0\.0/);
    const installs = events.flatMap((e) => (e.type === "install" ? [e] : []));
    expect(installs[0]).toMatchObject({ phase: "start", packages: ["tbx-idle==1.0.0"] });
    expect(installs[0]?.message).toMatch(/rebuilding the thread's venv/);
    expect(installs.at(-1)).toMatchObject({ phase: "done", packages: ["tbx-idle==1.0.0"] });
    // The tenant's cache served the wheel again: nothing downloaded twice.
    expect(index.downloads("tbx-idle")).toBe(downloads);

    // The context of the busy thread still has its state.
    expect(await ctx.value(busy, context.id, "1 + 2")).toBe("3");
  });
});
