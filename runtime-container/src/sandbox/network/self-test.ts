import type { LayerReport } from "../self-test.ts";
import { type NetworkSetup, NetworkSetupError, createNamespace } from "./namespace.ts";

export type NetworkLayers = Pick<LayerReport, "net_namespace" | "egress_filter" | "user_mode_stack">;

const LABEL = { namespace: "network namespace", egress: "egress filter", stack: "user-mode network stack" } as const;

/**
 * Builds a namespace as a "default" thread's first run would (holder, egress rules, slirp4netns) and takes it down
 * again: what came up is what the report says. A failure names the layer and why (the runtime then refuses to
 * start, or runs degraded).
 */
export async function checkNetworkLayers(setup: NetworkSetup): Promise<NetworkLayers & { problems: string[] }> {
  try {
    (await createNamespace("default", setup)).close();
    return { net_namespace: true, egress_filter: true, user_mode_stack: "slirp4netns", problems: [] };
  } catch (err) {
    const layer = err instanceof NetworkSetupError ? err.layer : "namespace";
    return {
      net_namespace: layer !== "namespace",
      egress_filter: layer === "stack",
      user_mode_stack: null,
      problems: [`${LABEL[layer]}: ${(err as Error).message}`],
    };
  }
}
