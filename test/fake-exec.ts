import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import { type DisplayOutput, type EventBody, type ExecRequest, encodeNdjson } from "../shared/src/index.ts";

/**
 * The stand-in runtime's `exec` (test/fake-runtime.ts): the command is a script of steps separated by `;` or newlines.
 *
 *   echo TEXT  → a stdout event "TEXT\n"            sleep N → waits N seconds (at most 5), or until cancelled
 *   die        → drops the connection mid-stream    ctrl N  → N bytes of control characters (\x01-\x1f) on stdout
 *   stdin      → stdout "stdin N HEX\n": the length (UTF-16 units) and SHA-256 of the stdin it was given
 *   shot N K   → N screenshots of K base64 characters each, as display events and in the result's `displays`
 *   nowindow T → capture_screenshot's text/plain note for a window titled T that is not on the screen
 *   anything else → stderr "…: command not found", exit 127
 */
const MAX_SLEEP_MS = 5_000;
/** A real runtime streams output in pieces; big outputs come as many events, the result holds them whole. */
const CHUNK = 64 * 1024;

export type Sleeper = (id: string, ms: number) => Promise<boolean>;

/** Control characters only (none of them NUL, tab or newline), each six bytes once JSON-escaped. */
function controlChars(n: number): string {
  const codes = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31];
  let text = "";
  for (let i = 0; i < n; i++) text += String.fromCharCode(codes[i % codes.length] as number);
  return text;
}

/** `K` base64 characters that differ per screenshot, so a mix-up between them shows. */
function fakePng(index: number, k: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unit = alphabet.slice(index % 64) + alphabet.slice(0, index % 64);
  return unit.repeat(Math.ceil(k / 64)).slice(0, k);
}

export async function runExecScript(res: ServerResponse, id: string, thread: string, req: ExecRequest, sleep: Sleeper): Promise<void> {
  const started = Date.now();
  const out = { stdout: "", stderr: "" };
  const displays: DisplayOutput[] = [];
  let seq = 0;
  const emit = (event: EventBody) =>
    new Promise<void>((resolve) => res.write(encodeNdjson({ ...event, seq: seq++, execution_id: id }), () => resolve()));
  const stdout = async (text: string) => {
    out.stdout += text;
    for (let i = 0; i < text.length; i += CHUNK) await emit({ type: "stdout", data: text.slice(i, i + CHUNK) });
  };
  res.writeHead(200, { "content-type": "application/x-ndjson" });
  await emit({ type: "start", kind: "exec", thread_id: thread, started_at: new Date().toISOString() });
  let exitCode = 0;
  let canceled = false;
  for (const step of req.command.split(/[;\n]/).map((s) => s.trim())) {
    const [word = "", ...args] = step.split(" ");
    exitCode = 0;
    if (word === "echo") await stdout(`${args.join(" ")}\n`);
    else if (word === "ctrl") await stdout(controlChars(Number(args[0])));
    else if (word === "stdin") {
      const stdin = req.stdin ?? "";
      await stdout(`stdin ${stdin.length} ${createHash("sha256").update(stdin, "utf8").digest("hex")}\n`);
    }
    else if (word === "shot") {
      for (let i = 0; i < Number(args[0]); i++) {
        const shot: DisplayOutput = { mime: "image/png", data: fakePng(i, Number(args[1])), source: "screenshot" };
        displays.push(shot);
        await emit({ type: "display", ...shot });
      }
    } else if (word === "nowindow") {
      const note: DisplayOutput = { mime: "text/plain", data: `capture_screenshot: no window titled "${args.join(" ")}" was on the screen`, source: "screenshot" };
      displays.push(note);
      await emit({ type: "display", ...note });
    } else if (word === "sleep") {
      canceled = await sleep(id, Math.min(Number(args[0]) * 1000, MAX_SLEEP_MS));
      exitCode = canceled ? 137 : 0;
      if (canceled) break;
    } else if (word === "die") {
      // A crash: the response ends without its terminating chunk, the worker sees a broken connection.
      return void res.destroy();
    } else {
      out.stderr += `fake-runtime: ${word}: command not found\n`;
      await emit({ type: "stderr", data: `fake-runtime: ${word}: command not found\n` });
      exitCode = 127;
    }
  }
  const value = {
    execution_id: id,
    exit_code: exitCode,
    signal: canceled ? "SIGKILL" : null,
    ...out,
    timed_out: false,
    canceled,
    truncated: false,
    duration_ms: Date.now() - started,
    ...(displays.length > 0 ? { displays } : {}),
  };
  await emit({ type: "result", result: { kind: "exec", value } });
  res.end();
}
