import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { TERMINAL_PROTOCOL, TerminalControlSchema, type ThreadRef } from "../../../shared/src/index.ts";
import type { Services } from "../services.ts";
import { TerminalSession } from "./terminal-session.ts";

/** Output queued for a slow client beyond this pauses the shell's output until it drains. */
const HIGH_WATER = 1 << 20;
const sockets = new WebSocketServer({
  noServer: true,
  maxPayload: 1 << 20,
  handleProtocols: (offered) => (offered.has(TERMINAL_PROTOCOL) ? TERMINAL_PROTOCOL : false),
});

/** Terminals open now, per thread key. */
const open = new Map<string, Set<TerminalSession>>();
export const openTerminals = (key: string): number => open.get(key)?.size ?? 0;

/** How many ended terminals a thread's info still reports (with their end), for the worker's history to pick up. */
const ENDED_KEPT = 20;
/** The terminals the worker named (`x-threadbox-terminal-id`) per thread key: the open ones and the last ended. */
const named = new Map<string, TerminalReport[]>();
/** A terminal as the thread's info reports it (WorkspaceInfo.terminal_sessions): its end is null while it is open. */
export interface TerminalReport {
  id: string;
  ended_at: string | null;
}
export const terminalReports = (key: string): TerminalReport[] => (named.get(key) ?? []).map((t) => ({ ...t }));

/** Records a named terminal's open, and its end once `exited` settles (the ended ones kept are bounded). */
function track(key: string, id: string, exited: Promise<void>): void {
  const list = named.get(key) ?? [];
  named.set(key, list);
  const report: TerminalReport = { id, ended_at: null };
  list.push(report);
  void exited.then(() => {
    report.ended_at = new Date().toISOString();
    const ended = list.filter((t) => t.ended_at !== null);
    for (const old of ended.slice(0, Math.max(0, ended.length - ENDED_KEPT))) list.splice(list.indexOf(old), 1);
  });
}
const TERMINAL_ID = /^term_[A-Za-z0-9]{1,40}$/;

/** The thread is being deleted: its terminals end, and this resolves once their trees have exited. */
export async function endTerminals(key: string): Promise<void> {
  const sessions = [...(open.get(key) ?? [])];
  for (const session of sessions) session.end("the thread was deleted");
  await Promise.all(sessions.map((session) => session.exited));
  named.delete(key);
}

/**
 * A terminal WebSocket: the session starts first (an error is the upgrade's HTTP answer), then binary frames are
 * the shell's input and output and text frames carry JSON control messages (`resize`, `input`; text that is not
 * one is input). Closing the socket ends the shell and its tree; the shell ending closes the socket (1000).
 */
export async function openTerminal(s: Services, req: IncomingMessage, socket: Duplex, head: Buffer, ref: ThreadRef): Promise<void> {
  const loc = s.workspaces.locate(ref);
  const session = await TerminalSession.start(s, loc);
  const sessions = open.get(loc.key) ?? new Set<TerminalSession>();
  open.set(loc.key, sessions.add(session));
  void session.exited.then(() => {
    sessions.delete(session);
    if (sessions.size === 0 && open.get(loc.key) === sessions) open.delete(loc.key);
  });
  // The worker names the terminal for its thread's history (do/thread-terminals.ts); a malformed name is ignored.
  const id = req.headers["x-threadbox-terminal-id"];
  if (typeof id === "string" && TERMINAL_ID.test(id)) track(loc.key, id, session.exited);
  s.logger.info("terminal opened", { thread: loc.key, pid: session.pid });
  if (socket.destroyed) return session.end("the client left");
  socket.once("close", () => session.end("the client left"));
  sockets.handleUpgrade(req, socket, head, (ws) => {
    session.onEnd((why) => {
      s.logger.info("terminal closed", { thread: loc.key, why });
      ws.close(1000, why.slice(0, 120));
    });
    ws.on("close", () => session.end("the socket closed"));
    ws.on("error", () => session.end("the socket failed"));
    ws.on("message", (data, binary) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (binary) return session.send(bytes);
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString("utf8"));
      } catch {
        return session.send(bytes);
      }
      const control = TerminalControlSchema.safeParse(parsed);
      session.send(control.success ? control.data : bytes);
    });
    session.output.on("data", (chunk: Buffer) => {
      ws.send(chunk, { binary: true });
      if (ws.bufferedAmount > HIGH_WATER) {
        session.output.pause();
        const wait = setInterval(() => {
          if (ws.bufferedAmount <= HIGH_WATER / 2 || ws.readyState !== ws.OPEN) {
            clearInterval(wait);
            session.output.resume();
          }
        }, 20);
      }
    });
  });
}
