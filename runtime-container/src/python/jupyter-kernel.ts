import type { EventBody } from "../../../shared/src/index.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";

/**
 * `install_jupyter`'s second half: the venv's own kernelspec. ipykernel alone is not enough when it comes from the base
 * (Debian's, through the venv's system site packages): the only `python3` kernelspec Jupyter then finds is the
 * system's (`/usr/share/jupyter/kernels/python3`, argv `/usr/bin/python3`), and a kernel started from it sees none of
 * the thread's packages. `ipykernel install --sys-prefix` writes `<venv>/share/jupyter/kernels/python3` (argv: the
 * venv's python), which Jupyter's search path puts before the system's. Run in the sandbox, as the thread.
 */
export async function registerVenvKernel(
  run: GuestRunner,
  ws: ReadyWorkspace,
  step: { timeoutMs: number; signal: AbortSignal; emit: (body: EventBody) => void },
): Promise<{ ok: true } | { ok: false; message: string }> {
  const packages = ["ipykernel"];
  const argv = [`${ws.venv}/bin/python`, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3", "--display-name", "Python 3 (thread venv)"];
  const out = await run(ws.loc, { argv, timeoutMs: step.timeoutMs, signal: step.signal });
  if (out.exitCode !== 0 || out.timedOut || out.canceled) {
    const why = out.timedOut ? "timed out" : out.canceled ? "was cancelled" : `failed (exit ${out.exitCode}): ${out.stderr.trim().slice(-2000)}`;
    const message = `registering the venv's Jupyter kernel (python -m ipykernel install --sys-prefix) ${why}`;
    step.emit({ type: "install", phase: "error", packages, message });
    return { ok: false, message };
  }
  step.emit({ type: "install", phase: "done", packages, message: `registered the venv's Jupyter kernel: ${ws.venv}/share/jupyter/kernels/python3` });
  return { ok: true };
}
