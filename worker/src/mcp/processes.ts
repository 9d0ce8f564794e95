import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  AppError,
  type ErrorCode,
  NdjsonParser,
  type ProcessInfo,
  type ProcessLogMessage,
  runtimePaths,
} from "../../../shared/src/index.ts";
import type { ProcessOp } from "../do/thread-processes.ts";
import { type ThreadTarget, fromRpc } from "../http/context.ts";
import { callRuntime } from "../http/forward.ts";
import { clip, structuredResult } from "./results.ts";

/** The model's view of background processes: start one, read what it printed so far (routes/processes.ts' calls). */

/** A process call through the thread's object, its runtime's error thrown as such. */
export async function processCall<T>(target: ThreadTarget, op: ProcessOp): Promise<T> {
  const { status, body } = await fromRpc(target.stub.process(target.access, op, op.op === "start" ? target.createAs : undefined));
  const parsed = JSON.parse(body) as T | { error: { code: ErrorCode; message: string; details?: unknown } };
  if (status >= 400 && typeof parsed === "object" && parsed !== null && "error" in parsed) {
    throw new AppError(parsed.error.code, parsed.error.message, parsed.error.details);
  }
  return parsed as T;
}

/**
 * What the process printed after `after`, up to now (never waiting for more): its entries up to the seq it had
 * reached when asked, then its status. `last_seq` is what to pass as `after` next time.
 */
export async function processLogs(env: Env, target: ThreadTarget, id: string, after: number): Promise<CallToolResult> {
  const info = await processCall<ProcessInfo>(target, { op: "get", id });
  const messages: ProcessLogMessage[] = [];
  if (info.last_seq > after) {
    const path = `${runtimePaths.processes(target.ref, id)}/logs?after=${after}&format=ndjson`;
    const res = await callRuntime(env, target, { method: "GET", path });
    const reader = (res.body ?? new ReadableStream<Uint8Array>()).pipeThrough(new TextDecoderStream()).getReader();
    const parser = new NdjsonParser();
    try {
      for (let done = false; !done; ) {
        const chunk = await reader.read();
        if (chunk.done) break;
        for (const m of parser.push(chunk.value) as ProcessLogMessage[]) {
          messages.push(m);
          if (m.type === "end" || (m.type === "log" && m.seq >= info.last_seq)) done = true;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
  const text = messages.map((m) => (m.type === "log" ? m.text : m.type === "gap" ? `[… earlier output dropped: the log keeps its tail …]\n` : "")).join("");
  const last = messages.reduce((seq, m) => (m.type === "log" ? Math.max(seq, m.seq) : seq), after);
  const status = `process ${id}: ${info.status}${info.exit_code === null ? "" : ` (exit code ${info.exit_code})`}${info.reason ? `, ${info.reason}` : ""}; last_seq ${last}`;
  return structuredResult(`${clip(text, 50_000, "read again with after")}\n${status}`, { process: info, last_seq: last, text });
}
