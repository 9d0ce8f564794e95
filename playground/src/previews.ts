import type { ExposedPort, Thread } from "threadbox/client";
import { announce, byId, describe, h } from "./dom.ts";

/**
 * Preview URLs: expose a port of the sandbox, open its URL in a new tab, revoke it. The URL is on this worker's
 * origin (or PREVIEW_BASE_URL's) and carries its own capability, never the page's credential.
 */
export class Previews {
  readonly #list = byId<HTMLUListElement>("preview-list");
  readonly #port = byId<HTMLInputElement>("preview-port");
  #thread: Thread | null = null;

  constructor() {
    byId<HTMLFormElement>("preview-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.#expose(this.#port.valueAsNumber);
    });
  }

  setThread(thread: Thread | null): void {
    this.#thread = thread;
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const thread = this.#thread;
    if (!thread) return this.#render([]);
    try {
      this.#render(await thread.ports.list());
    } catch (err) {
      announce(`Could not list the preview URLs: ${describe(err)}`, "error");
    }
  }

  async #expose(port: number): Promise<void> {
    const thread = this.#thread;
    if (!thread) return;
    if (!Number.isInteger(port) || port < 1 || port > 65535) return announce("A port is a number from 1 to 65535.", "error");
    try {
      const exposed = await thread.ports.expose(port);
      announce(`Port ${port} has a preview URL until ${new Date(exposed.expires_at).toLocaleString()}.`);
    } catch (err) {
      announce(`Could not expose port ${port}: ${describe(err)}`, "error");
    }
    await this.refresh();
  }

  async #revoke(port: number): Promise<void> {
    const thread = this.#thread;
    if (!thread) return;
    try {
      await thread.ports.revoke(port);
      announce(`Revoked the preview URLs of port ${port}.`);
    } catch (err) {
      announce(`Could not revoke port ${port}: ${describe(err)}`, "error");
    }
    await this.refresh();
  }

  #render(ports: ExposedPort[]): void {
    if (ports.length === 0) {
      this.#list.replaceChildren(h("li", { class: "hint" }, this.#thread ? "No port exposed." : "No thread open."));
      return;
    }
    this.#list.replaceChildren(...[...ports].sort((a, b) => a.port - b.port).map((p) => this.#item(p)));
  }

  #item(p: ExposedPort): HTMLLIElement {
    // A new tab with no opener and no referrer: the sandbox's page gets no handle on this one.
    const open = h("a", { href: p.url, target: "_blank", rel: "noopener noreferrer", "data-port": String(p.port) }, `Open port ${p.port}`);
    const revoke = h("button", { type: "button", "aria-label": `Revoke port ${p.port}` }, "Revoke");
    revoke.addEventListener("click", () => void this.#revoke(p.port));
    const until = `until ${p.expires_at.replace("T", " ").replace(/\.\d+Z$/, "Z")}`;
    return h("li", { "data-port": String(p.port) }, open, " ", h("span", { class: "facts" }, until), " ", revoke);
  }
}
