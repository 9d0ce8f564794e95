import { threadRef, type ThreadRef, SandboxPortSchema } from "../../../shared/src/index.ts";

/** `/threads/:tenant/:thread/ports/:port/proxy<rest>`: a preview URL's request for the sandbox's server. */
const PROXY_PATH = /^\/threads\/([^/]+)\/([^/]+)\/ports\/([^/]+)\/proxy(\/.*)?$/;
/** `/threads/:tenant/:thread/terminal`. */
const TERMINAL_PATH = /^\/threads\/([^/]+)\/([^/]+)\/terminal$/;

export const isStreamedPath = (pathname: string): boolean => PROXY_PATH.test(pathname);

/** The thread, port and the target on the sandbox's server (path and query) of a proxy request; null if not one. */
export function parseProxyTarget(target: string): { ref: ThreadRef; port: number; rest: string } | null {
  const q = target.indexOf("?");
  const pathname = q < 0 ? target : target.slice(0, q);
  const m = PROXY_PATH.exec(pathname);
  if (!m) return null;
  const ref = threadRef(m[1] ?? "", m[2] ?? "");
  const port = SandboxPortSchema.parse(m[3]);
  return { ref, port, rest: (m[4] ?? "/") + (q < 0 ? "" : target.slice(q)) };
}

export function parseTerminalTarget(pathname: string): ThreadRef | null {
  const m = TERMINAL_PATH.exec(pathname);
  return m ? threadRef(m[1] ?? "", m[2] ?? "") : null;
}
