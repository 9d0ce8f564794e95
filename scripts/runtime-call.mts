/**
 * Calls the runtime's internal API with a valid HMAC signature, the way the worker does.
 *   node --import tsx scripts/runtime-call.mts METHOD PATH [BODY|@file] [--accept json|sse|ndjson]
 * RUNTIME_URL (default http://127.0.0.1:8788) and HMAC_SECRET (default: this checkout's, from .dev.vars).
 */
import { readFileSync } from "node:fs";
import { RUNTIME_HEADER, requestTarget, signRequest, targetUrl } from "../shared/src/index.ts";
import { devHmacSecret } from "./dev-vars.mts";

const ACCEPT = { json: "application/json", sse: "text/event-stream", ndjson: "application/x-ndjson" } as const;

const args = process.argv.slice(2);
const acceptAt = args.indexOf("--accept");
const accept = acceptAt >= 0 ? (args.splice(acceptAt, 2)[1] as keyof typeof ACCEPT) : "json";
const [method = "GET", path = "/health", rawBody] = args;
const body = rawBody === undefined ? "" : rawBody.startsWith("@") ? readFileSync(rawBody.slice(1)) : rawBody;
const bytes = typeof body === "string" ? new TextEncoder().encode(body) : new Uint8Array(body);

const base = (process.env.RUNTIME_URL ?? "http://127.0.0.1:8788").replace(/\/+$/, "");
// Signed for this runtime by name, as the worker does (a runtime with RUNTIME_ID refuses requests for another), and
// for the target exactly as fetch will send it.
const named = { [RUNTIME_HEADER]: base };
const target = requestTarget(path);
const headers = await signRequest(devHmacSecret(), { method, path: target, body: bytes, headers: named });
const res = await fetch(targetUrl(base, target), {
  method,
  headers: { ...named, ...headers, accept: ACCEPT[accept] ?? ACCEPT.json, "content-type": "application/json" },
  body: method === "GET" || method === "HEAD" ? undefined : bytes,
}).catch((err: Error) => {
  process.stderr.write(`cannot reach the runtime at ${base} (${err.cause ?? err.message}); start it with: npm run runtime\n`);
  process.exit(2);
});
process.stderr.write(`HTTP ${res.status}\n`);
if (res.body) for await (const chunk of res.body) process.stdout.write(chunk);
process.stdout.write("\n");
process.exitCode = res.ok ? 0 : 1;
