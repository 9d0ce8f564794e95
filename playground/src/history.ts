import type { ExecutionRecord, Thread } from "threadbox/client";
import { announce, byId, describe, formatMs, h } from "./dom.ts";
import type { OutputView } from "./output.ts";

/** The thread's past runs, newest first; choosing one replays its stored events (live ones too, if it still runs). */
export class History {
  readonly #list = byId<HTMLOListElement>("history-list");
  #thread: Thread | null = null;

  constructor(
    readonly output: OutputView,
    readonly canReplay: () => boolean,
  ) {
    byId("history-refresh").addEventListener("click", () => void this.refresh());
  }

  setThread(thread: Thread | null): void {
    this.#thread = thread;
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const thread = this.#thread;
    if (!thread) return void this.#list.replaceChildren();
    try {
      const records = await thread.executions.list({ limit: 50 });
      this.#list.replaceChildren(...records.map((r) => this.#item(r)));
      if (records.length === 0) this.#list.append(h("li", { class: "hint" }, "No runs yet."));
    } catch (err) {
      announce(`Could not read the history: ${describe(err)}`, "error");
    }
  }

  async replay(record: ExecutionRecord): Promise<void> {
    const thread = this.#thread;
    if (!thread) return;
    if (!this.canReplay()) return announce("A run is in progress: replay it when it has finished.", "error");
    const run = this.output.begin(`Replay of ${record.id} (${record.kind}): ${record.summary}`);
    try {
      for await (const event of thread.executions.events(record.id)) {
        if (!this.output.isCurrent(run)) break; // the output moved on to another run
        this.output.event(event, run);
      }
    } catch (err) {
      this.output.failure(err, run);
    }
  }

  #item(r: ExecutionRecord): HTMLLIElement {
    const when = r.created_at.replace("T", " ").replace(/\.\d+Z$/, "Z");
    const button = h(
      "button",
      { type: "button", "data-execution-id": r.id },
      h("span", { class: "summary" }, r.summary || r.kind),
      h("span", { class: "facts" }, h("span", { class: `s-${r.status}` }, r.status), ` · ${r.kind} · ${formatMs(r.duration_ms)} · ${when}`),
    );
    // Background processes and terminals are in the history too, but keep no events to replay (a process's output is
    // in the Processes panel).
    if (r.kind === "process" || r.kind === "terminal") {
      button.setAttribute("disabled", "");
      button.title = r.kind === "process" ? "A background process: its logs are in the Processes panel" : "A terminal session";
    } else button.addEventListener("click", () => void this.replay(r));
    return h("li", {}, button);
  }
}
