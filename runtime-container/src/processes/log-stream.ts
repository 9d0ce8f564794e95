import { type ProcessLogMessage, encodeNdjson, encodeSse, sseComment, streamHeaders } from "../../../shared/src/index.ts";
import type { BackgroundProcess } from "./background-process.ts";

const HEARTBEAT_MS = 15_000;
/**
 * What may wait unread for a slow client: past it the stream ends without `end`, and the client resumes with
 * `?after=` (what the ring dropped meanwhile comes as a `gap`). A client that never reads costs this and the
 * retained log, never more.
 */
const QUEUE_BYTES = 4 * 1024 * 1024;

/**
 * A process's log as a stream: the retained entries after `after` (a `gap` first when the ring dropped some of
 * them), then live ones until the process ends, then `end` with its info. SSE (`id: seq`, a heartbeat comment every
 * 15 s so proxies keep a quiet stream open) or NDJSON. A client that goes away unsubscribes; one that falls
 * QUEUE_BYTES behind is cut off (it resumes).
 */
export function logStream(proc: BackgroundProcess, after: number, format: "sse" | "ndjson"): Response {
  const encode = (m: ProcessLogMessage) =>
    format === "ndjson" ? encodeNdjson(m) : encodeSse({ ...(m.type === "log" ? { id: String(m.seq) } : {}), event: m.type, data: JSON.stringify(m) });
  const bytes = new TextEncoder();
  let closed = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let unsubscribe = () => undefined as unknown;
  const stop = () => {
    closed = true;
    clearInterval(heartbeat);
    unsubscribe();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (m: ProcessLogMessage) => controller.enqueue(bytes.encode(encode(m)));
      const finish = (end: boolean) => {
        if (closed) return;
        stop();
        if (end) send({ type: "end", process: proc.info() });
        controller.close();
      };
      if (after + 1 < proc.logs.firstSeq) send({ type: "gap", dropped_before: proc.logs.firstSeq });
      for (const entry of proc.logs.after(after)) send({ type: "log", ...entry });
      const queued = () => -(controller.desiredSize ?? 0);
      // Synchronous from the retained entries to the subscription: nothing comes in between. An ended log calls
      // back at once (the end).
      unsubscribe = proc.logs.subscribe((entry) => {
        if (closed) return;
        if (entry === null) return finish(true);
        send({ type: "log", ...entry });
        if (queued() > QUEUE_BYTES) finish(false);
      });
      if (!closed && format === "sse") heartbeat = setInterval(() => controller.enqueue(bytes.encode(sseComment("keep-alive"))), HEARTBEAT_MS);
    },
    cancel() {
      stop();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 0 })); // desiredSize: minus the bytes waiting unread
  return new Response(body, { headers: streamHeaders(format) });
}
