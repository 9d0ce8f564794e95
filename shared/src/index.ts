/** The only entry point other top-level folders import shared code from. */
export * from "./errors.ts";
export * from "./ids.ts";
export * from "./events.ts";
export * from "./exec.ts";
export * from "./run-python.ts";
export * from "./files.ts";
export * from "./threads.ts";
export * from "./runtime-api.ts";
export * from "./sse.ts";
export * from "./ndjson.ts";
export * from "./hmac.ts";
export * from "./request-target.ts";
export * from "./public-api.ts";
export * from "./respond.ts";
export * from "./json-body.ts";
export * from "./contexts.ts";
