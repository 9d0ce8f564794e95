/**
 * What the page remembers, in this tab's session storage only (never in a URL, never in local storage): the
 * credential, the threads this tab created or opened (an API key cannot list threads), the one open, and the Python
 * context each thread's cells run in.
 */
export interface Credential {
  kind: "key" | "token";
  value: string;
}

interface Saved {
  credential?: Credential;
  threads: string[];
  current?: string;
  contexts: Record<string, string>;
}

const STORAGE_KEY = "threadbox.playground";

function load(): Saved {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    const value = raw ? (JSON.parse(raw) as Partial<Saved>) : {};
    return { threads: Array.isArray(value.threads) ? value.threads : [], contexts: value.contexts ?? {}, ...value } as Saved;
  } catch {
    return { threads: [], contexts: {} };
  }
}

export class Session {
  #saved: Saved = load();

  get credential(): Credential | undefined {
    return this.#saved.credential;
  }

  get threads(): readonly string[] {
    return this.#saved.threads;
  }

  get current(): string | undefined {
    return this.#saved.current;
  }

  signIn(credential: Credential): void {
    this.#saved = { credential, threads: [], contexts: {} };
    this.#save();
  }

  /** Forgets everything, the credential first. */
  signOut(): void {
    this.#saved = { threads: [], contexts: {} };
    sessionStorage.removeItem(STORAGE_KEY);
  }

  open(thread: string): void {
    if (!this.#saved.threads.includes(thread)) this.#saved.threads = [thread, ...this.#saved.threads].slice(0, 50);
    this.#saved.current = thread;
    this.#save();
  }

  context(thread: string): string | undefined {
    return this.#saved.contexts[thread];
  }

  setContext(thread: string, id: string | undefined): void {
    if (id === undefined) delete this.#saved.contexts[thread];
    else this.#saved.contexts[thread] = id;
    this.#save();
  }

  #save(): void {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(this.#saved));
  }
}
