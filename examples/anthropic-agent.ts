/**
 * An agent with threadbox tools over Anthropic's Messages API tool use (fetch only, no SDK).
 *
 *   npm start                                    # in another terminal: the local stack
 *   export THREADBOX_API_KEY=$(cat .data/dev-api-key) ANTHROPIC_API_KEY=sk-ant-...
 *   node --import tsx examples/anthropic-agent.ts "Make a CSV of the first 20 squares and tell me their sum"
 *
 * THREADBOX_URL (default http://127.0.0.1:8787), THREADBOX_THREAD (default: a new thread per run), ANTHROPIC_MODEL
 * (default claude-sonnet-4-5) and ANTHROPIC_BASE_URL (default https://api.anthropic.com) adjust it.
 */
import { Threadbox } from "threadbox/client";
import { anthropicToolResult, anthropicTools, runTool } from "threadbox/tools";

type Block = { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: unknown } | { type: string };

const apiKey = process.env.ANTHROPIC_API_KEY;
if (!apiKey) throw new Error("set ANTHROPIC_API_KEY");
const base = process.env.ANTHROPIC_BASE_URL ?? "https://api.anthropic.com";
const model = process.env.ANTHROPIC_MODEL ?? "claude-sonnet-4-5";
const prompt = process.argv[2] ?? "Compute the 30th Fibonacci number in Python and plot the first 30 as a chart.";

const tb = new Threadbox({ baseUrl: process.env.THREADBOX_URL ?? "http://127.0.0.1:8787", apiKey: process.env.THREADBOX_API_KEY });
const thread = process.env.THREADBOX_THREAD ? tb.thread(process.env.THREADBOX_THREAD) : await tb.createThread();

const messages: { role: "user" | "assistant"; content: unknown }[] = [{ role: "user", content: prompt }];
for (let step = 0; step < 12; step++) {
  const res = await fetch(`${base}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify({
      model,
      max_tokens: 4096,
      system: "You have a persistent sandbox (Python, bash, Node.js, files). Use the tools to work; answer briefly.",
      tools: anthropicTools(),
      messages,
    }),
  });
  if (!res.ok) throw new Error(`Anthropic answered ${res.status}: ${await res.text()}`);
  const answer = (await res.json()) as { content: Block[]; stop_reason: string };
  messages.push({ role: "assistant", content: answer.content });
  const uses = answer.content.filter((b): b is Extract<Block, { type: "tool_use" }> => b.type === "tool_use");
  if (answer.stop_reason !== "tool_use" || uses.length === 0) {
    console.log(answer.content.flatMap((b) => (b.type === "text" && "text" in b ? [b.text] : [])).join("\n"));
    break;
  }
  const results = [];
  for (const use of uses) {
    console.error(`→ ${use.name} ${JSON.stringify(use.input)}`);
    const output = await runTool(thread, use.name, use.input);
    console.error(`← ${output.isError ? "error: " : ""}${output.text.slice(0, 300)}${output.images.length ? ` [+${output.images.length} image(s)]` : ""}`);
    results.push(anthropicToolResult(use.id, output));
  }
  messages.push({ role: "user", content: results });
}
console.error(`(thread ${thread.id})`);
