/**
 * An agent with threadbox tools over OpenAI's Chat Completions function calling (fetch only, no SDK).
 *
 *   npm start                                    # in another terminal: the local stack
 *   export THREADBOX_API_KEY=$(cat .data/dev-api-key) OPENAI_API_KEY=sk-...
 *   node --import tsx examples/openai-agent.ts "Make a CSV of the first 20 squares and tell me their sum"
 *
 * THREADBOX_URL (default http://127.0.0.1:8787), THREADBOX_THREAD (default: a new thread per run), OPENAI_MODEL
 * (default gpt-4.1-mini) and OPENAI_BASE_URL (default https://api.openai.com/v1) adjust it.
 */
import { Threadbox } from "threadbox/client";
import { openaiToolMessages, openaiTools, runTool } from "threadbox/tools";

type Message = Record<string, unknown>;
interface ToolCall {
  id: string;
  function: { name: string; arguments: string };
}

const apiKey = process.env.OPENAI_API_KEY;
if (!apiKey) throw new Error("set OPENAI_API_KEY");
const base = process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1";
const model = process.env.OPENAI_MODEL ?? "gpt-4.1-mini";
const prompt = process.argv[2] ?? "Compute the 30th Fibonacci number in Python and plot the first 30 as a chart.";

const tb = new Threadbox({ baseUrl: process.env.THREADBOX_URL ?? "http://127.0.0.1:8787", apiKey: process.env.THREADBOX_API_KEY });
const thread = process.env.THREADBOX_THREAD ? tb.thread(process.env.THREADBOX_THREAD) : await tb.createThread();

const messages: Message[] = [
  { role: "system", content: "You have a persistent sandbox (Python, bash, Node.js, files). Use the tools to work; answer briefly." },
  { role: "user", content: prompt },
];
for (let step = 0; step < 12; step++) {
  const res = await fetch(`${base}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages, tools: openaiTools() }),
  });
  if (!res.ok) throw new Error(`OpenAI answered ${res.status}: ${await res.text()}`);
  const message = ((await res.json()) as { choices: { message: Message & { content?: string; tool_calls?: ToolCall[] } }[] }).choices[0]?.message;
  if (!message) throw new Error("OpenAI answered without a choice");
  messages.push(message);
  const calls = message.tool_calls ?? [];
  if (calls.length === 0) {
    console.log(message.content ?? "");
    break;
  }
  const results = [];
  for (const call of calls) {
    console.error(`→ ${call.function.name} ${call.function.arguments}`);
    const output = await runTool(thread, call.function.name, call.function.arguments);
    console.error(`← ${output.isError ? "error: " : ""}${output.text.slice(0, 300)}${output.images.length ? ` [+${output.images.length} image(s)]` : ""}`);
    results.push({ toolCallId: call.id, output });
  }
  messages.push(...openaiToolMessages(results));
}
console.error(`(thread ${thread.id})`);
