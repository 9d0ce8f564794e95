import type { CellResult, ExecResult, ExecutionEvent, InstallResult, RunPythonResponse } from "threadbox/client";
import { describe, formatMs, h } from "./dom.ts";
import { renderMime } from "./mime.ts";

export type RunState = "idle" | "running" | "succeeded" | "failed" | "cancelled";

/**
 * The output of one run (or a replayed one) as its events arrive: stdout and stderr as they are written, told apart
 * by colour and a label; figures, screenshots and HTML inline (HTML in a sandboxed iframe: mime.ts); then a line
 * saying how it ended, with the error's type and line when the code failed.
 */
export class OutputView {
  readonly #root: HTMLElement;
  readonly #status: HTMLElement;
  #text: { stream: "stdout" | "stderr"; el: HTMLElement } | null = null;
  #pre: HTMLPreElement | null = null;
  #displays = 0;
  /** Which run the output shows: events of an earlier one (a replay left behind, say) are dropped. */
  #current = 0;

  constructor(root: HTMLElement, status: HTMLElement) {
    this.#root = root;
    this.#status = status;
  }

  /** Empties the output; a run in progress goes on writing into it. */
  clear(): void {
    this.#root.replaceChildren();
    this.#text = null;
    this.#pre = null;
    this.#displays = 0;
    this.#setState("idle", "");
  }

  /** Starts showing a run; pass the number it returns with each of its events. */
  begin(title: string): number {
    this.#current += 1;
    this.clear();
    this.#append(h("p", { class: "meta" }, title));
    this.#setState("running", "Running…");
    return this.#current;
  }

  event(event: ExecutionEvent, run: number): void {
    if (run !== this.#current) return;
    switch (event.type) {
      case "start":
        this.#setState("running", `Running (${event.execution_id})…`);
        break;
      case "stdout":
      case "stderr":
        this.#write(event.type, event.data);
        break;
      case "display":
        this.#display(event.mime, event.data, event.source);
        break;
      case "install":
        this.#append(h("p", { class: "meta" }, `install ${event.phase}: ${event.message}`));
        break;
      case "result":
        this.#result(event.result);
        break;
      case "error":
        if (event.code === "EXECUTION_CANCELLED") this.#setState("cancelled", "Cancelled before it ran.");
        else this.#error(`${event.code}`, event.message);
        break;
    }
  }

  /** A call that failed (the request was refused, the connection was lost for good). */
  failure(err: unknown, run: number): void {
    if (run === this.#current) this.#error("Request failed", describe(err));
  }

  /** The run ended because it was cancelled (whatever its result said about how it stopped). */
  cancelled(message: string, run: number): void {
    if (run === this.#current) this.#setState("cancelled", message);
  }

  /** Whether the output still shows this run (begin() has not started another). */
  isCurrent(run: number): boolean {
    return run === this.#current;
  }

  get state(): RunState {
    return (this.#root.dataset.state as RunState | undefined) ?? "idle";
  }

  #write(stream: "stdout" | "stderr", data: string): void {
    const follow = this.#atBottom();
    if (!this.#pre) {
      this.#pre = h("pre");
      this.#root.append(this.#pre);
    }
    if (this.#text?.stream !== stream) {
      this.#text = { stream, el: h("span", { class: stream, "data-stream": stream }) };
      this.#pre.append(this.#text.el);
    }
    this.#text.el.append(data);
    if (follow) this.#root.scrollTop = this.#root.scrollHeight;
  }

  #display(mime: string, data: string, source: string): void {
    this.#displays += 1;
    const label = source === "screenshot" ? `Screenshot ${this.#displays}` : source === "figure" ? `Figure ${this.#displays}` : `Output ${this.#displays}`;
    this.#append(renderMime(mime, data, label));
  }

  #result(result: Extract<ExecutionEvent, { type: "result" }>["result"]): void {
    switch (result.kind) {
      case "exec":
        return this.#execEnd(result.value);
      case "run_python":
        return this.#pythonEnd(result.value);
      case "cell":
        return this.#cellEnd(result.value);
      case "install":
        return this.#installEnd(result.value);
    }
  }

  #execEnd(r: ExecResult): void {
    const took = formatMs(r.duration_ms);
    if (r.canceled) return this.#setState("cancelled", `Cancelled after ${took}.`);
    if (r.timed_out) return this.#setState("failed", `Timed out after ${took}.`);
    const ended = r.signal ? `exit ${r.exit_code} (${r.signal})` : `exit ${r.exit_code}`;
    const note = r.truncated ? "; output cut at the output cap" : "";
    this.#setState(r.exit_code === 0 && !r.truncated ? "succeeded" : "failed", `Finished: ${ended} in ${took}${note}.`);
  }

  #pythonEnd(r: RunPythonResponse): void {
    const m = r.metadata;
    const took = formatMs(m.duration * 1000);
    if (!r.is_error) return this.#setState("succeeded", `Finished: exit 0 in ${took}.`);
    if (m.timed_out) return this.#setState("failed", `Timed out after ${took}.`);
    const where = m.error_line ? ` on line ${m.error_line}` : "";
    this.#error(`${m.error_type ?? m.error_code ?? "Error"}${where}`, r.text);
    this.#setState("failed", `Failed: ${m.error_type ?? m.error_code ?? "error"}${where} (exit ${m.exit_code}, ${took}).`);
  }

  #cellEnd(r: CellResult): void {
    const took = formatMs(r.duration_ms);
    const bundle = r.result;
    if (bundle) {
      const mime = ["image/png", "image/svg+xml", "text/html", "text/plain"].find((m) => bundle[m] !== undefined);
      if (mime) this.#append(h("div", { class: "value" }, h("p", { class: "meta" }, "Value:"), renderMime(mime, bundle[mime] ?? "", "Value")));
    }
    const restarted = r.state === "restarted" ? " The interpreter was restarted: its variables are gone." : "";
    if (r.timed_out) return this.#setState("failed", `Timed out after ${took}.${restarted}`);
    if (r.error) {
      const where = r.error.line ? ` on line ${r.error.line}` : "";
      this.#error(`${r.error.type}${where}`, `${r.error.value}\n\n${r.error.traceback}`.trim());
      return this.#setState("failed", `Failed: ${r.error.type}${where} (${took}).${restarted}`);
    }
    this.#setState(r.ok ? "succeeded" : "failed", `Finished in ${took}.${restarted}`);
  }

  #installEnd(r: InstallResult): void {
    this.#setState(r.ok ? "succeeded" : "failed", r.ok ? `Installed ${r.installed.join(", ") || "nothing new"}.` : "The install failed.");
  }

  #error(title: string, detail: string): void {
    this.#append(h("div", { class: "error-box", role: "group", "aria-label": "Error" }, h("strong", {}, title), h("pre", {}, detail)));
    if (this.state === "running") this.#setState("failed", `Failed: ${title}.`);
  }

  #append(node: Node): void {
    const follow = this.#atBottom();
    this.#root.append(node);
    // Text after a figure or a message starts a block of its own, below it.
    this.#pre = null;
    this.#text = null;
    if (follow) this.#root.scrollTop = this.#root.scrollHeight;
  }

  #atBottom(): boolean {
    return this.#root.scrollHeight - this.#root.scrollTop - this.#root.clientHeight < 40;
  }

  #setState(state: RunState, message: string): void {
    this.#root.dataset.state = state;
    this.#status.textContent = message;
    this.#status.className = `run-status ${state}`;
  }
}
