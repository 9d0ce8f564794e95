import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { exports } from "cloudflare:workers";

/** The official MCP client (Streamable HTTP) against the whole worker, or an app with an env of a test's own. */
type Fetcher = (url: string, init?: RequestInit) => Promise<Response>;

const viaWorker: Fetcher = (url, init) => exports.default.fetch(url, init);
export const MCP_URL = "http://threadbox.test/mcp";

export async function mcpClient(credential: string, fetcher: Fetcher = viaWorker): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
    requestInit: { headers: { authorization: `Bearer ${credential}` } },
    fetch: (input, init) => fetcher(String(input), init),
  });
  const client = new Client({ name: "threadbox-worker-tests", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

/** A tool call's result, typed as one (callTool's type also allows the legacy `toolResult` form). */
export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  opts: { onprogress?: (p: { progress: number; message?: string }) => void } = {},
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, opts)) as CallToolResult;
}

/** The text of a result's first content block. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  if (first?.type !== "text") throw new Error(`the first content is ${first?.type ?? "missing"}, not text`);
  return first.text;
}

/** A raw JSON-RPC POST, as a client would send it (for what the SDK client never sends). */
export function rawPost(credential: string | null, body: string, fetcher: Fetcher = viaWorker, method = "POST"): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json, text/event-stream", "content-type": "application/json" };
  if (credential !== null) headers.authorization = `Bearer ${credential}`;
  return fetcher(MCP_URL, { method, headers, ...(method === "POST" ? { body } : {}) });
}
