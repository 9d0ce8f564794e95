/**
 * The playground: sign in, choose a thread, run code and watch it stream, see its files and history, run background
 * processes and follow their logs, open preview URLs of their ports. Plain DOM and
 * the threadbox SDK (threadbox/client, bundled by playground/build.mts); served by the worker at /playground.
 */
import type { Thread } from "threadbox/client";
import { checkCredential, clientFor, tokenClaims } from "./api.ts";
import { Cell } from "./cell.ts";
import { announce, byId, describe } from "./dom.ts";
import { Files } from "./files.ts";
import { History } from "./history.ts";
import { OutputView } from "./output.ts";
import { Previews } from "./previews.ts";
import { ProcessesPanel } from "./processes.ts";
import { type Credential, Session } from "./session.ts";
import { Threads } from "./threads.ts";

const session = new Session();
const output = new OutputView(byId("output"), byId("run-status"));
const files = new Files();
const processes = new ProcessesPanel();
const previews = new Previews();
// Replaying a run into the output while a cell streams into it would mix the two.
const history = new History(output, () => !cell.busy);
const threads = new Threads(session, (thread) => open(thread));
const cell = new Cell(output, session, () => {
  void history.refresh();
  void files.refresh();
  void threads.refresh();
});

function open(thread: Thread): void {
  cell.setThread(thread);
  files.setThread(thread);
  history.setThread(thread);
  processes.setThread(thread);
  previews.setThread(thread);
}

function showSignedIn(credential: Credential): void {
  const tb = clientFor(credential);
  const claims = credential.kind === "token" ? tokenClaims(credential.value) : null;
  byId("sign-in").hidden = true;
  byId("workspace").hidden = false;
  byId("who").hidden = false;
  byId("who-text").textContent =
    credential.kind === "key" ? "Signed in with an API key." : `Signed in with a token for ${claims?.thread ?? "?"}, until ${claims ? new Date(claims.exp * 1000).toLocaleString() : "?"}.`;
  threads.start(tb, claims?.thread);
}

byId<HTMLFormElement>("sign-in-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const key = byId<HTMLInputElement>("api-key").value.trim();
  const token = byId<HTMLInputElement>("thread-token").value.trim();
  if ((key === "") === (token === "")) return announce("Give an API key or a thread token (one of them).", "error");
  const credential: Credential = key ? { kind: "key", value: key } : { kind: "token", value: token };
  announce("Checking…");
  void checkCredential(clientFor(credential), credential).then(
    (checked) => {
      if (!checked.ok) return announce(checked.message, "error");
      session.signIn(credential);
      byId<HTMLInputElement>("api-key").value = "";
      byId<HTMLInputElement>("thread-token").value = "";
      announce("Signed in.");
      showSignedIn(credential);
    },
    (err: unknown) => announce(`Could not sign in: ${describe(err)}`, "error"),
  );
});

byId("sign-out").addEventListener("click", () => {
  session.signOut();
  location.reload();
});

const saved = session.credential;
if (saved) showSignedIn(saved);
