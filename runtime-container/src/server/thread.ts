import type { Context } from "hono";
import { threadRef } from "../../../shared/src/index.ts";
import type { Services } from "../services.ts";
import type { WorkspaceLocation } from "../thread-location.ts";

/**
 * The thread of a `/threads/:tenant/:thread/...` request: its ids validated once (ThreadRef) and its workspace located
 * once, for the whole request.
 */
export function threadOf(c: Context, s: Services): WorkspaceLocation {
  const ref = threadRef(c.req.param("tenant") ?? "", c.req.param("thread") ?? "");
  return s.workspaces.locate(ref);
}
