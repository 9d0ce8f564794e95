import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecutionEvent, type RunPythonParamsInput, type RunPythonResponse } from "../../shared/src/index.ts";
import { type RuntimeProcess, readEvents, startRuntime } from "./harness.ts";
import { type PackageIndex, startPackageIndex } from "./package-index.ts";

// run_python's `options.install_jupyter`: what a notebook kernel needs (ipykernel, with jupyter_client and the
// kernelspec) in the thread's venv, reported like any install; then a real kernel started from the venv runs code
// that imports a package installed into the venv (from a loopback index).
// No PyPI here: the index on loopback has no ipykernel, so it comes from the base (Debian's
// python3-ipykernel, which scripts/setup.sh installs) through the venv's system site packages.
let index: PackageIndex;
let rt: RuntimeProcess;
beforeAll(async () => {
  index = await startPackageIndex([{ name: "tbx-unrelated", version: "1.0.0" }]);
  rt = await startRuntime({ PIP_INDEX_URL: index.url });
});
afterAll(async () => {
  await rt?.stop();
  await index?.stop();
});

async function streamPython(thread: string, params: RunPythonParamsInput): Promise<{ events: ExecutionEvent[]; response: RunPythonResponse }> {
  const events = await readEvents(await rt.call("POST", `/threads/acme/${thread}/run_python`, { body: params, accept: "sse" }));
  const last = events.at(-1);
  if (last?.type !== "result" || last.result.kind !== "run_python") throw new Error(`unexpected ending: ${JSON.stringify(last)}`);
  return { events, response: last.result.value };
}

/** Starts the venv's python3 kernel with jupyter_client (as Jupyter would) and runs one cell in it. */
const KERNEL = `
import sys
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel
spec = KernelSpecManager().get_kernel_spec("python3")
print("kernel argv0:", spec.argv[0])
km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
try:
    out = []
    kc.execute_interactive("import sys, tbx_unrelated; print(6 * 7, sys.prefix, tbx_unrelated.__version__)", timeout=60,
                           output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
    print("kernel said:", "".join(out).strip())
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
`;

describe("options.install_jupyter", () => {
  it("makes the venv able to run a Jupyter kernel, with install events and the manifest like any install", { timeout: 180_000 }, async () => {
    const thread = `jup-${randomUUID().slice(0, 8)}`;
    const { events, response } = await streamPython(thread, { code: KERNEL, packages: ["tbx-unrelated"], options: { install_jupyter: true }, timeout: 120 });
    expect(response.is_error, response.metadata.stderr).toBe(false);
    const installs = events.flatMap((e) => (e.type === "install" ? [e] : []));
    expect(installs[0]).toMatchObject({ phase: "start", packages: ["tbx-unrelated", "ipykernel"] });
    expect(installs.at(-1)).toMatchObject({ phase: "done", packages: ["ipykernel"], message: expect.stringContaining("/.venv/share/jupyter/kernels/python3") });
    // The venv's kernel, not the system's (/usr/bin/python3, which would see none of the thread's packages).
    expect(response.metadata.stdout).toBe("kernel argv0: /.venv/bin/python\nkernel said: 42 /.venv 1.0.0\n");
    expect(response.metadata.packages_installed).toContain("tbx-unrelated==1.0.0");
    const manifest = await readFile(path.join(rt.workspaces, "acme", thread, "pyproject.toml"), "utf8");
    expect(manifest).toContain('"ipykernel"');
  });
});
