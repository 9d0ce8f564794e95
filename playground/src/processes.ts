import type { Thread } from "threadbox/client";
import { announce, byId, describe, h } from "./dom.ts";
import { type ProcessInfo, ProcessLog, describeStatus } from "./process-log.ts";

/** A long command, cut for a button's label. */
const short = (p: ProcessInfo) => p.name ?? (p.command.length > 40 ? `${p.command.slice(0, 39)}…` : p.command);

/**
 * The thread's background processes: start one from a command, see each one's status and exit code, follow one's
 * logs live, stop one (its whole tree).
 */
export class ProcessesPanel {
  readonly #body = byId<HTMLTableElement>("process-table").tBodies[0] as HTMLTableSectionElement;
  readonly #command = byId<HTMLInputElement>("process-command");
  readonly #log = new ProcessLog(() => void this.refresh());
  #thread: Thread | null = null;

  constructor() {
    byId<HTMLFormElement>("process-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.#start(this.#command.value.trim());
    });
    byId("processes-refresh").addEventListener("click", () => void this.refresh());
  }

  setThread(thread: Thread | null): void {
    this.#thread = thread;
    this.#log.follow(null, null);
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const thread = this.#thread;
    if (!thread) return this.#rows([]);
    try {
      this.#rows(await thread.processes.list());
    } catch (err) {
      announce(`Could not list the processes: ${describe(err)}`, "error");
    }
  }

  async #start(command: string): Promise<void> {
    const thread = this.#thread;
    if (!thread || command === "") return;
    try {
      const started = await thread.processes.start(command);
      this.#command.value = "";
      announce(`Started ${started.id}.`);
      this.#log.follow(thread, started);
    } catch (err) {
      announce(`Could not start the process: ${describe(err)}`, "error");
    }
    await this.refresh();
  }

  async #stop(p: ProcessInfo): Promise<void> {
    const thread = this.#thread;
    if (!thread) return;
    try {
      const ended = await thread.processes.kill(p.id);
      announce(`Stopped ${p.id}: ${describeStatus(ended)}.`);
    } catch (err) {
      announce(`Could not stop ${p.id}: ${describe(err)}`, "error");
    }
    await this.refresh();
  }

  #rows(processes: ProcessInfo[]): void {
    if (processes.length === 0) {
      this.#body.replaceChildren(h("tr", {}, h("td", { colspan: "3", class: "hint" }, this.#thread ? "No processes yet." : "No thread open.")));
      return;
    }
    this.#body.replaceChildren(...processes.map((p) => this.#row(p)));
  }

  #row(p: ProcessInfo): HTMLTableRowElement {
    const logs = h("button", { type: "button", "aria-label": `Logs of ${short(p)}`, "aria-pressed": String(this.#log.following === p.id) }, "Logs");
    logs.addEventListener("click", () => {
      this.#log.follow(this.#thread, p);
      void this.refresh();
    });
    const actions = h("td", {}, logs);
    if (p.status === "running") {
      const stop = h("button", { type: "button", "aria-label": `Stop ${short(p)}` }, "Stop");
      stop.addEventListener("click", () => void this.#stop(p));
      actions.append(" ", stop);
    }
    const started = p.started_at.replace("T", " ").replace(/\.\d+Z$/, "Z");
    return h(
      "tr",
      { "data-process-id": p.id, "data-status": p.status },
      h("td", {}, h("code", { class: "command" }, p.command), h("span", { class: "facts" }, `${p.id} · ${started}`)),
      h("td", {}, h("span", { class: p.status === "exited" && p.exit_code !== 0 ? "s-failed" : `s-${p.status}` }, describeStatus(p))),
      actions,
    );
  }
}
