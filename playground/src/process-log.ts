import type { Processes, Thread } from "threadbox/client";
import { byId, describe, h } from "./dom.ts";

export type ProcessInfo = Awaited<ReturnType<Processes["get"]>>;

/** Entries kept on the page: a chatty server must not grow the DOM without bound (the runtime keeps 1 MiB anyway). */
const MAX_LINES = 2000;

/** How a process ended, in words: `killed (exit 143, stopped)`. */
export function describeStatus(p: ProcessInfo): string {
  const facts = [p.exit_code === null ? null : `exit ${p.exit_code}`, p.reason].filter((f) => f !== null);
  return facts.length ? `${p.status} (${facts.join(", ")})` : p.status;
}

/**
 * One process's stdout and stderr, live: the retained tail first, then new lines as they come, until it ends (the
 * SDK's NDJSON stream resumes a dropped connection with `?after=` the last seq seen). `data-state` says `following`
 * or `ended` for whoever watches the page.
 */
export class ProcessLog {
  readonly #log = byId("process-log");
  readonly #status = byId("process-log-status");
  #abort: AbortController | null = null;

  constructor(readonly onEnd: (process: ProcessInfo) => void) {}

  /** Follows `process` (null: nothing), dropping whatever was followed before. */
  follow(thread: Thread | null, process: ProcessInfo | null): void {
    this.#abort?.abort();
    this.#abort = null;
    this.#log.replaceChildren();
    delete this.#log.dataset.process;
    delete this.#log.dataset.state;
    if (!thread || !process) {
      this.#status.textContent = "Choose a process to follow its output.";
      return;
    }
    const abort = new AbortController();
    this.#abort = abort;
    this.#log.dataset.process = process.id;
    this.#log.dataset.state = "following";
    this.#status.textContent = `Following ${process.id}: ${process.command}`;
    void this.#read(thread, process, abort.signal);
  }

  get following(): string | undefined {
    return this.#log.dataset.process;
  }

  async #read(thread: Thread, process: ProcessInfo, signal: AbortSignal): Promise<void> {
    try {
      for await (const message of thread.processes.logs(process.id, { after: -1, signal })) {
        if (signal.aborted) return;
        if (message.type === "log") this.#append(h("pre", { class: message.stream, "data-stream": message.stream, "data-seq": String(message.seq) }, message.text));
        else if (message.type === "gap") this.#append(h("pre", { class: "meta" }, `… older output was dropped (kept from #${message.dropped_before})`));
        else {
          this.#log.dataset.state = "ended";
          this.#status.textContent = `${process.id} ended: ${describeStatus(message.process)}.`;
          this.onEnd(message.process);
          return;
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      this.#log.dataset.state = "failed";
      this.#status.textContent = `Could not read the logs of ${process.id}: ${describe(err)}`;
    }
  }

  #append(line: HTMLElement): void {
    // Stay at the bottom only when the reader already was there (scrolling up to read keeps its place).
    const atBottom = this.#log.scrollTop + this.#log.clientHeight >= this.#log.scrollHeight - 8;
    this.#log.append(line);
    while (this.#log.childElementCount > MAX_LINES) this.#log.firstElementChild?.remove();
    if (atBottom) this.#log.scrollTop = this.#log.scrollHeight;
  }
}
