import type { CellInstall, PipFrame } from "./cell-install.ts";
import type { KernelError } from "./kernels.ts";

/** What a cell may have beside its code. */
export interface CellOptions {
  /** Set in the interpreter's environment first, for what it starts from now on (a screenshot session's display). */
  env?: Record<string, string>;
  /** For this cell only: put back as it was after it. */
  cellEnv?: Record<string, string>;
  /** Aborted: the cell is interrupted as on a timeout (its result says `canceled`). */
  signal?: AbortSignal;
  install?: CellInstall;
}

/** What a kernel (kernel.py, kernel.cjs) writes on its control channel, one JSON object a line. */
export type Frame =
  | { type: "ready"; pid: number }
  | PipFrame
  | { type: "display"; id: string; mime: string; data: string; source: "figure" | "display" | "value" }
  | { type: "done"; id: string; ok: boolean; result?: Record<string, string> | null; error?: KernelError | null };

export type NextFrame = Frame | { type: "exit" };

/** Who waits for the kernel's next ready/done frame (or its exit): one waiter at a time, with a timeout. */
export class FrameWaiter {
  private waiting: ((frame: NextFrame) => void) | null = null;

  /** A frame (or the exit) for the waiter, if there is one. */
  deliver(frame: NextFrame): void {
    this.waiting?.(frame);
  }

  /** The next frame or the exit; null after `timeoutMs` or once `signal` aborts. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<NextFrame | null> {
    return new Promise((resolve) => {
      const settle = (frame: NextFrame | null) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", stop);
        this.waiting = null;
        resolve(frame);
      };
      const stop = () => settle(null);
      const timer = setTimeout(stop, timeoutMs);
      signal?.addEventListener("abort", stop, { once: true });
      this.waiting = settle;
      if (signal?.aborted) stop();
    });
  }
}
