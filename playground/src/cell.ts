import { type Context, type ExecutionStream, type Thread, ThreadboxError } from "threadbox/client";
import { byId } from "./dom.ts";
import type { OutputView } from "./output.ts";
import type { Session } from "./session.ts";

type Language = "python-context" | "python" | "bash" | "javascript" | "typescript";

/**
 * How long a cancelled context cell may take to stop before its interpreter is stopped instead. The runtime
 * interrupts a cell on its timeout but not (yet) on a cancel, so a cancel ends a context cell by stopping the
 * context: the cell ends, and the next one starts a fresh interpreter.
 */
const CONTEXT_CANCEL_GRACE_MS = 2000;

/**
 * The code cell: a language, the code, Run (or Ctrl/Cmd+Enter) and Cancel. A run streams its events into the output
 * (the SDK reads NDJSON and resumes from the last seq when the connection drops). "Python (context)" runs in one
 * stateful interpreter per thread, started on the first run and remembered for the tab.
 */
export class Cell {
  readonly #code = byId<HTMLTextAreaElement>("code");
  readonly #language = byId<HTMLSelectElement>("language");
  readonly #timeout = byId<HTMLInputElement>("timeout");
  readonly #run = byId<HTMLButtonElement>("run");
  readonly #cancel = byId<HTMLButtonElement>("cancel");
  #thread: Thread | null = null;
  #context: Context | null = null;
  #stream: ExecutionStream | null = null;
  #busy = false;
  #cancelAsked = false;
  #cancelSent = false;
  #contextStopped = false;
  #runLanguage: Language = "python";
  /** The output's number for the run in progress. */
  #outputRun = 0;
  #escaped = false;

  constructor(
    readonly output: OutputView,
    readonly session: Session,
    readonly onFinished: () => void,
  ) {
    byId<HTMLFormElement>("cell-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.run();
    });
    this.#cancel.addEventListener("click", () => void this.cancel());
    byId("clear").addEventListener("click", () => output.clear());
    this.#code.addEventListener("keydown", (e) => this.#key(e));
  }

  /** Whether a run is in progress (from Run until its last event). */
  get busy(): boolean {
    return this.#busy;
  }

  /** The thread cells run on (null: none open). */
  setThread(thread: Thread | null): void {
    this.#thread = thread;
    this.#context = null;
    this.#run.disabled = thread === null || this.#busy;
  }

  async run(): Promise<void> {
    const thread = this.#thread;
    if (!thread || this.#busy) return;
    const language = this.#language.value as Language;
    const code = this.#code.value;
    const timeout = Math.min(300, Math.max(1, Number(this.#timeout.value) || 30));
    this.#outputRun = this.output.begin(`${this.#language.selectedOptions[0]?.textContent ?? language} on ${thread.id}`);
    this.#cancelAsked = false;
    this.#cancelSent = false;
    this.#contextStopped = false;
    this.#runLanguage = language;
    this.#setRunning(true);
    try {
      await this.#consume(() => this.#start(thread, language, code, timeout));
    } catch (err) {
      if (language === "python-context" && err instanceof ThreadboxError && err.code === "CONTEXT_NOT_FOUND") {
        // The context was reclaimed (idle) or the thread moved: a fresh interpreter, and the cell once more.
        this.#context = null;
        this.session.setContext(thread.id, undefined);
        await this.#consume(() => this.#start(thread, language, code, timeout)).catch((again: unknown) => this.output.failure(again, this.#outputRun));
      } else {
        this.output.failure(err, this.#outputRun);
      }
    } finally {
      this.#stream = null;
      this.#setRunning(false);
      if (this.#cancelSent && this.output.isCurrent(this.#outputRun) && this.output.state !== "succeeded") {
        this.output.cancelled(
          this.#contextStopped ? "Cancelled: the context's interpreter was stopped, so its variables are gone; the next cell starts a fresh one." : "Cancelled.",
          this.#outputRun,
        );
      }
      this.onFinished();
    }
  }

  async cancel(): Promise<void> {
    this.#cancelAsked = true;
    await this.#sendCancel();
  }

  async #consume(start: () => Promise<ExecutionStream>): Promise<void> {
    const stream = await start();
    this.#stream = stream;
    for await (const event of stream) {
      this.output.event(event, this.#outputRun);
      if (this.#cancelAsked) await this.#sendCancel();
    }
  }

  async #start(thread: Thread, language: Language, code: string, timeout: number): Promise<ExecutionStream> {
    if (language !== "python-context") return thread.runCode(language, code, { stream: true, timeout });
    const context = await this.#contextOf(thread);
    return context.run(code, { stream: true, timeout });
  }

  async #contextOf(thread: Thread): Promise<Context> {
    if (this.#context) return this.#context;
    const known = this.session.context(thread.id);
    if (known) {
      try {
        this.#context = await thread.contexts.get(known);
        return this.#context;
      } catch (err) {
        if (!(err instanceof ThreadboxError) || err.code !== "CONTEXT_NOT_FOUND") throw err;
      }
    }
    this.#context = await thread.contexts.create({ language: "python" });
    this.session.setContext(thread.id, this.#context.id);
    return this.#context;
  }

  /** Once the execution has an id (its answer's header), asks the worker to stop it; the stream then ends. */
  async #sendCancel(): Promise<void> {
    const stream = this.#stream;
    if (!stream || this.#cancelSent || stream.executionId === undefined) return;
    this.#cancelSent = true;
    this.#cancel.disabled = true;
    try {
      await stream.cancel();
    } catch (err) {
      this.output.failure(err, this.#outputRun);
    }
    const context = this.#context;
    if (this.#runLanguage === "python-context" && context) {
      setTimeout(() => {
        if (this.#stream === stream) void this.#stopContext(context);
      }, CONTEXT_CANCEL_GRACE_MS);
    }
  }

  async #stopContext(context: Context): Promise<void> {
    this.#context = null;
    if (this.#thread) this.session.setContext(this.#thread.id, undefined);
    this.#contextStopped = true;
    try {
      await context.delete();
    } catch (err) {
      this.output.failure(err, this.#outputRun);
    }
  }

  #setRunning(running: boolean): void {
    const focused = document.activeElement;
    this.#busy = running;
    this.#run.disabled = running || this.#thread === null;
    this.#cancel.disabled = !running;
    // A disabled button loses the focus: the keyboard moves on to the button that can act now.
    if (running && focused === this.#run) this.#cancel.focus();
    if (!running && focused === this.#cancel && !this.#run.disabled) this.#run.focus();
  }

  /** Ctrl/Cmd+Enter runs; Tab indents unless Escape came just before (so the keyboard can leave the textarea). */
  #key(e: KeyboardEvent): void {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void this.run();
      return;
    }
    if (e.key === "Escape") {
      this.#escaped = true;
      return;
    }
    if (e.key === "Tab" && !this.#escaped && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      this.#indent(e.shiftKey);
    }
    this.#escaped = false;
  }

  #indent(outdent: boolean): void {
    const ta = this.#code;
    const { selectionStart: start, selectionEnd: end, value } = ta;
    if (!outdent && start === end) {
      ta.setRangeText("    ", start, end, "end");
    } else {
      const lineStart = value.lastIndexOf("\n", start - 1) + 1;
      const block = value.slice(lineStart, end);
      const changed = outdent ? block.replace(/^ {1,4}/gm, "") : block.replace(/^/gm, "    ");
      ta.setRangeText(changed, lineStart, end, "select");
    }
    ta.dispatchEvent(new Event("input"));
  }
}
