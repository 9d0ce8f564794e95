import type { ContextLanguage } from "../../../shared/src/index.ts";
import type { Context } from "../contexts.ts";
import { ThreadboxError } from "../errors.ts";
import type { CallOptions } from "../options.ts";
import type { ResultValues } from "../run.ts";
import type { Thread } from "../thread.ts";

/**
 * The stateful cell tool's interpreter: one context per thread and language, found again across processes (a
 * serverless handler starts with nothing) by listing the thread's contexts, and started when there is none. A
 * context that went away (reclaimed when idle) is replaced once and the cell runs in the new one.
 */
const known = new WeakMap<Thread, Map<ContextLanguage, Promise<Context>>>();

function contextFor(thread: Thread, language: ContextLanguage, signal: AbortSignal | undefined): Promise<Context> {
  let byLanguage = known.get(thread);
  if (!byLanguage) known.set(thread, (byLanguage = new Map()));
  let context = byLanguage.get(language);
  if (!context) {
    context = find(thread, language, signal);
    byLanguage.set(language, context);
    // A failed lookup is not remembered: the next call tries again.
    context.catch(() => byLanguage.delete(language));
  }
  return context;
}

async function find(thread: Thread, language: ContextLanguage, signal: AbortSignal | undefined): Promise<Context> {
  const existing = (await thread.contexts.list({ signal })).find((c) => c.language === language && c.info.status !== "dead");
  return existing ?? thread.contexts.create({ language, signal });
}

export async function runCell(
  thread: Thread,
  code: string,
  opts: CallOptions & { language?: ContextLanguage | undefined; timeout?: number | undefined } = {},
): Promise<ResultValues["cell"]> {
  const language = opts.language ?? "python";
  const cell = { ...(opts.timeout === undefined ? {} : { timeout: opts.timeout }), signal: opts.signal };
  const context = await contextFor(thread, language, opts.signal);
  try {
    return await context.run(code, cell);
  } catch (err) {
    if (!(err instanceof ThreadboxError) || err.code !== "CONTEXT_NOT_FOUND") throw err;
    known.get(thread)?.delete(language);
    const fresh = await contextFor(thread, language, opts.signal);
    return fresh.run(code, cell);
  }
}
