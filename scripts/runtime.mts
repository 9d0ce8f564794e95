/**
 * `npm run runtime`: the runtime alone on loopback, with this checkout's HMAC secret (scripts/dev-vars.mts), so
 * scripts/runtime-call.mts and `npm start`'s worker can call it. The runtime itself has no default secret.
 */
import { devHmacSecret } from "./dev-vars.mts";

process.env.HMAC_SECRET = devHmacSecret();
await import("../runtime-container/src/main.ts");
