import { z } from "zod";

/** A TCP port inside the thread's sandbox (its own loopback), as a path segment: plain decimal digits only. */
export const SandboxPortSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,4}$/, "a port is a number from 1 to 65535")
  .transform(Number)
  .pipe(z.number().max(65535, "a port is a number from 1 to 65535"));

/** How long a preview URL lives unless asked otherwise, and the longest it may. */
export const PREVIEW_TTL_DEFAULT_S = 3600;
export const PREVIEW_TTL_MAX_S = 7 * 24 * 3600;
/** Ports one thread may have exposed at once. */
export const MAX_EXPOSED_PORTS = 16;

/** `POST /v1/threads/:thread/ports`. */
export const ExposePortSchema = z.strictObject({
  port: z.number().int().min(1).max(65535),
  ttl_seconds: z.number().int().min(60).max(PREVIEW_TTL_MAX_S).optional(),
});
export type ExposePort = z.infer<typeof ExposePortSchema>;

export const ExposedPortSchema = z.object({ port: z.number().int(), url: z.string(), expires_at: z.string() });
export type ExposedPort = z.infer<typeof ExposedPortSchema>;

/** The subprotocol a terminal WebSocket speaks (the server picks it); a credential may ride next to it as `bearer.<token>`. */
export const TERMINAL_PROTOCOL = "threadbox.terminal";
export const BEARER_PROTOCOL_PREFIX = "bearer.";

/** Control messages on a terminal WebSocket (text frames); binary frames are raw input and output. */
export const TerminalControlSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("resize"), cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) }),
  z.strictObject({ type: z.literal("input"), data: z.string().max(1 << 20) }),
]);
export type TerminalControl = z.infer<typeof TerminalControlSchema>;
