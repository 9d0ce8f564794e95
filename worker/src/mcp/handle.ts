import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Principal } from "../auth/middleware.ts";
import { mcpServer } from "./server.ts";

/** One MCP POST: a server and a transport for this request alone (stateless); a request is answered as an SSE stream. */
export async function handleMcp(request: Request, env: Env, principal: Principal, maxBodyBytes: number): Promise<Response> {
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, maxRequestBodySize: maxBodyBytes });
  await mcpServer(env, principal).connect(transport);
  return transport.handleRequest(request);
}
