import type { Thread, ThreadState, Threadbox } from "threadbox/client";
import { announce, byId, describe, formatBytes, h } from "./dom.ts";
import type { Session } from "./session.ts";

/**
 * Choosing the thread: create one, open one by id, or pick one this tab already used (a key cannot list threads).
 * A token names its one thread, so with a token there is nothing to choose. Below: the open thread's state.
 */
export class Threads {
  readonly #list = byId<HTMLSelectElement>("thread-list");
  readonly #state = byId("state");
  readonly #refresh = byId<HTMLButtonElement>("state-refresh");
  #tb: Threadbox | null = null;

  constructor(
    readonly session: Session,
    readonly onOpen: (thread: Thread) => void,
  ) {
    byId<HTMLFormElement>("new-thread-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.#create();
    });
    byId<HTMLFormElement>("open-thread-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.open(byId<HTMLInputElement>("open-thread-id").value.trim());
    });
    this.#list.addEventListener("change", () => {
      if (this.#list.value) void this.open(this.#list.value);
    });
    this.#refresh.addEventListener("click", () => void this.refresh());
  }

  /** Signed in: a key may create and open threads; a token opens its own. */
  start(tb: Threadbox, tokenThread?: string): void {
    this.#tb = tb;
    byId("thread-pick").hidden = tokenThread !== undefined;
    this.#renderList();
    const first = tokenThread ?? this.session.current;
    if (first) void this.open(first);
  }

  async open(id: string): Promise<void> {
    if (!this.#tb || id === "") return;
    let thread: Thread;
    try {
      thread = this.#tb.thread(id);
      const state = await thread.state();
      this.session.open(thread.id);
      this.#render(state);
    } catch (err) {
      announce(`Could not open thread ${id}: ${describe(err)}`, "error");
      return;
    }
    this.#renderList();
    this.#refresh.disabled = false;
    announce(`Thread ${thread.id} is open.`);
    this.onOpen(thread);
  }

  async refresh(): Promise<void> {
    const id = this.session.current;
    if (!this.#tb || !id) return;
    try {
      this.#render(await this.#tb.thread(id).state());
    } catch (err) {
      announce(`Could not read the thread's state: ${describe(err)}`, "error");
    }
  }

  async #create(): Promise<void> {
    if (!this.#tb) return;
    const input = byId<HTMLInputElement>("new-thread-id");
    const id = input.value.trim();
    announce("Creating the thread…");
    try {
      const thread = await this.#tb.createThread(id ? { id } : {});
      input.value = "";
      await this.open(thread.id);
    } catch (err) {
      announce(`Could not create the thread: ${describe(err)}`, "error");
    }
  }

  #renderList(): void {
    const current = this.session.current;
    this.#list.replaceChildren(
      h("option", { value: "", disabled: true, selected: current === undefined }, this.session.threads.length ? "Choose a thread" : "None yet"),
      ...this.session.threads.map((id) => h("option", { value: id, selected: id === current }, id)),
    );
  }

  #render(s: ThreadState): void {
    const w = s.workspace;
    const rows: [string, string][] = [
      ["Thread", s.id],
      ["Runtime", s.runtime.index === null ? "none (moves on its next call)" : `#${s.runtime.index}, since ${s.runtime.placed_at}`],
      ["Python", w?.python_version ?? "not set up yet"],
      ["Packages", w ? (w.packages.length ? w.packages.join(", ") : "none added (numpy, pandas, matplotlib are in the base)") : "–"],
      ["Contexts", w?.contexts.length ? w.contexts.map((c) => `${c.language} ${c.id} (${c.status}, ${c.cells} cells${c.rss_bytes ? `, ${formatBytes(c.rss_bytes)}` : ""})`).join("; ") : "none"],
      ["Executions", `${s.counts.executions} (${s.counts.running} running, ${s.counts.queued} queued)`],
    ];
    if (w?.disk) rows.push(["Disk", `${formatBytes(w.disk.bytes)} of ${formatBytes(w.disk.quota_bytes)}`]);
    if (s.processes) rows.push(["Processes", `${s.processes.filter((p) => p.status === "running").length} running of ${s.processes.length} listed`]);
    if (s.exposed_ports) rows.push(["Ports", s.exposed_ports.length ? s.exposed_ports.map((p) => p.port).join(", ") : "none exposed"]);
    rows.push(["Last active", s.last_active_at]);
    this.#state.replaceChildren(h("dl", { "aria-label": "Thread state" }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  }
}
