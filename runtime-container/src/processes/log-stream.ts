import { type ProcessLogMessage, encodeNdjson, encodeSse, sseComment, streamHeaders } from "../../../shared/src/index.ts";
import type { BackgroundProcess } from "./background-process.ts";

const HEARTBEAT_MS = 15_000;

/**
 * A process's log as a stream: the retained entries after `after` (a `gap` first when the ring dropped some of
 * them), then live ones until the process ends, then `end` with its info. SSE (`id: seq`, a heartbeat comment every
 * 15 s so proxies keep a quiet stream open) or NDJSON. A client that goes away unsubscribes.
 */
export function logStream(proc: BackgroundProcess, after: number, format: "sse" | "ndjson"): Response {
  const encode = (m: ProcessLogMessage) =>
    format === "ndjson" ? encodeNdjson(m) : encodeSse({ ...(m.type === "log" ? { id: String(m.seq) } : {}), event: m.type, data: JSON.stringify(m) });
  const bytes = new TextEncoder();
  let stop = () => undefined as void;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (m: ProcessLogMessage) => controller.enqueue(bytes.encode(encode(m)));
      const close = () => {
        stop();
        send({ type: "end", process: proc.info() });
        controller.close();
      };
      if (after + 1 < proc.logs.firstSeq) send({ type: "gap", dropped_before: proc.logs.firstSeq });
      for (const entry of proc.logs.after(after)) send({ type: "log", ...entry });
      const heartbeat = format === "sse" ? setInterval(() => controller.enqueue(bytes.encode(sseComment("keep-alive"))), HEARTBEAT_MS) : undefined;
      // Synchronous from the retained entries to the subscription: nothing comes in between.
      const unsubscribe = proc.logs.subscribe((entry) => (entry === null ? close() : send({ type: "log", ...entry })));
      stop = () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, { headers: streamHeaders(format) });
}
