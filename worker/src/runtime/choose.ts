import type { RuntimeHealth } from "./health.ts";
import { rankRuntimes } from "./rendezvous.ts";

export interface ChooseInput {
  /** The configured runtimes (RUNTIME_URL). */
  urls: readonly string[];
  /** The thread's rendezvous key. */
  key: string;
  /** The runtime the thread is placed on (sticky); it may have left the configuration. */
  current: string;
  replayable: boolean;
  health: RuntimeHealth;
  /** A signed `GET /health` of one runtime; records nothing itself. */
  probe: (url: string) => Promise<boolean>;
}

/**
 * The runtime for a thread's next call: its current one while that one is usable, else the best-ranked usable one
 * (rendezvous over the healthy set). A runtime backing off after a failed probe is skipped without a probe; if that
 * leaves nothing, the backed-off ones are probed anyway, in parallel: failing without trying would only delay noticing
 * a fleet that came back, and the backoff's job is to keep a dead runtime out of the way while a live one exists.
 * null: no runtime answers.
 */
export async function chooseRuntime(input: ChooseInput): Promise<string | null> {
  const { urls, health } = input;
  const others = rankRuntimes(urls, input.key).filter((u) => u !== input.current);
  const order = urls.includes(input.current) ? [input.current, ...others] : others;
  const checked = async (url: string) => health.record(url, await input.probe(url));
  const skipped: string[] = [];
  for (const url of order) {
    const verdict = health.verdict(url, input.replayable);
    if (verdict === "skip") skipped.push(url);
    else if (verdict === "use" || (await checked(url))) return url;
  }
  const answers = await Promise.all(skipped.map(checked));
  return skipped.find((_, i) => answers[i]) ?? null;
}
