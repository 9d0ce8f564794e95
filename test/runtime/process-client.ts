import { NdjsonParser, type ProcessInfo, type ProcessLogMessage, type ProcessWaitResult } from "../../shared/src/index.ts";
import type { RuntimeProcess } from "./harness.ts";

/** Background processes over the runtime's internal API, as the worker calls it. */
export function processClient(rt: RuntimeProcess, tenant: string, thread: string) {
  const base = `/threads/${tenant}/${thread}/processes`;
  return {
    start: (body: Record<string, unknown>) => rt.json<ProcessInfo>("POST", base, body, 201),
    list: async () => (await rt.json<{ processes: ProcessInfo[] }>("GET", base)).processes,
    get: (id: string) => rt.json<ProcessInfo>("GET", `${base}/${id}`),
    stop: (id: string) => rt.json<ProcessInfo>("DELETE", `${base}/${id}`),
    stdin: (id: string, data: string, eof = false) => rt.json<{ written: number }>("POST", `${base}/${id}/stdin`, { data, eof }),
    wait: (id: string, body: Record<string, unknown>) => rt.json<ProcessWaitResult>("POST", `${base}/${id}/wait`, body),
    /** Log messages (NDJSON) after `after` until `until` says stop or the stream ends; at most `max` messages. */
    async logs(id: string, after = -1, until: (m: ProcessLogMessage[]) => boolean = () => false, max = 100_000): Promise<ProcessLogMessage[]> {
      const res = await rt.call("GET", `${base}/${id}/logs?after=${after}`, { accept: "ndjson" });
      if (res.status !== 200 || !res.body) throw new Error(`logs: ${res.status} ${await res.text()}`);
      const parser = new NdjsonParser();
      const out: ProcessLogMessage[] = [];
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        while (out.length < max) {
          const { done, value } = await reader.read();
          if (done) break;
          out.push(...(parser.push(value) as ProcessLogMessage[]));
          if (until(out)) break;
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
      return out;
    },
  };
}

/** The text of the log entries among `messages`. */
export const logText = (messages: ProcessLogMessage[]) => messages.flatMap((m) => (m.type === "log" ? [m.text] : [])).join("");
