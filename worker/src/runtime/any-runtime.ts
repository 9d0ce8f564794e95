import { AppError, ErrorCode } from "../../../shared/src/index.ts";
import { chooseRuntime } from "./choose.ts";
import type { RuntimeCall, RuntimeClient } from "./client.ts";
import { callWithFailover } from "./failover.ts";
import { type RuntimeHealth, isolateHealth } from "./health.ts";
import { probeRuntime } from "./probe.ts";

/**
 * A call that belongs to no thread (a tenant's mounts): sent to the rendezvous-best runtime for `key` that answers,
 * with the isolate's health view and the failover rules of thread calls. Such calls touch the shared storage only,
 * so any runtime serves them; the key keeps one tenant's calls on one runtime while it is up.
 */
export async function callAnyRuntime(
  client: RuntimeClient,
  urls: readonly string[],
  key: string,
  req: RuntimeCall,
  replayable: boolean,
  health: RuntimeHealth = isolateHealth,
): Promise<Response> {
  const { value } = await callWithFailover({
    replayable,
    route: async () => {
      const url = await chooseRuntime({ urls, key, current: "", replayable, health, probe: (u) => probeRuntime(client, u) });
      if (!url) throw new AppError(ErrorCode.RUNTIME_UNAVAILABLE, `no runtime answers (${urls.length} configured); try again shortly`);
      return { url };
    },
    send: async ({ url }) => {
      const res = await client.call(url, req);
      health.up(url);
      return res;
    },
    failed: (url) => health.suspect(url),
  });
  return value;
}
