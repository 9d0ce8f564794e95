/** The Worker entry: the app and the Durable Object classes, nothing else. */
export { app as default } from "./app.ts";
export { ThreadDO } from "./do/thread-do.ts";
export { RateLimiter } from "./ratelimit/rate-limiter.ts";
export { RuntimeContainer } from "./runtime/container.ts";
