/** `%pip install` of a cell: installs into the thread's venv as POST /packages does; ok, or the installer's words. */
export type CellInstall = (packages: string[], pipArgs: string) => Promise<{ ok: boolean; message: string }>;

/** The kernel's request for a `%pip install` line (kernel-magics.py). */
export interface PipFrame {
  type: "pip";
  id: string;
  request: number;
  packages: string[];
  pip_args: string;
}

/**
 * Runs a cell's `%pip install` and answers the kernel (which waits for the answer to its `request`). Whatever
 * fails is the answer (the cell raises it), never an error of the runtime.
 */
export async function answerPip(install: CellInstall | null, frame: PipFrame, answer: (line: string) => void): Promise<void> {
  let reply: { ok: boolean; message: string };
  try {
    reply = install ? await install(frame.packages, frame.pip_args) : { ok: false, message: "no cell is running to install for" };
  } catch (err) {
    reply = { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  answer(`${JSON.stringify({ op: "pip_done", request: frame.request, ...reply })}\n`);
}
