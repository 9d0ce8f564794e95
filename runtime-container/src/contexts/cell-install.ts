/**
 * `%pip install` of a cell: installs into the thread's venv as POST /packages does; ok, or the installer's words.
 * `signal` aborts when the cell has ended (a timeout, a cancel): no install outlives its cell.
 */
export type CellInstall = (packages: string[], pipArgs: string, signal: AbortSignal) => Promise<{ ok: boolean; message: string }>;

/** The running cell's way to install, and the signal of its end. */
export interface CellInstaller {
  install: CellInstall;
  ended: AbortSignal;
}

/** The kernel's request for a `%pip install` line (kernel-magics.py). */
export interface PipFrame {
  type: "pip";
  id: string;
  request: number;
  packages: string[];
  pip_args: string;
}

/**
 * A context's `%pip install` requests. The frames come from the sandbox (a cell may write its own to fd 3), so
 * they are validated as POST /packages bodies (by the install), and one install runs at a time: a flood of frames
 * starts one install, the others are refused.
 */
export class PipRequests {
  private running = false;

  /** Runs the request with the running cell's `install` and answers the kernel; what fails is the answer, not an error. */
  async answer(cell: CellInstaller | null, frame: PipFrame, write: (line: string) => void): Promise<void> {
    let reply: { ok: boolean; message: string };
    if (!cell) reply = { ok: false, message: "no cell is running to install for" };
    else if (this.running) reply = { ok: false, message: "another %pip install is running in this context" };
    else {
      this.running = true;
      try {
        reply = await cell.install(frame.packages, frame.pip_args, cell.ended);
      } catch (err) {
        reply = { ok: false, message: err instanceof Error ? err.message : String(err) };
      } finally {
        this.running = false;
      }
    }
    const request = Number.isSafeInteger(frame.request) ? frame.request : null;
    write(`${JSON.stringify({ op: "pip_done", request, ...reply })}\n`);
  }
}
