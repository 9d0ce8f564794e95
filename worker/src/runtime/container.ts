import { Container } from "@cloudflare/containers";

/** The runtime's port inside its container image (runtime-container/Dockerfile). */
export const CONTAINER_PORT = 8788;

/**
 * Production runtimes as Cloudflare Containers: each named instance is a long-lived runtime serving many threads.
 * The worker reaches it through this Durable Object (RUNTIME_URL entries of the form `container://<name>`).
 */
export class RuntimeContainer extends Container<Env> {
  override defaultPort = CONTAINER_PORT;
  override sleepAfter = "15m";

  constructor(ctx: DurableObjectState<{}>, env: Env) {
    super(ctx, env);
    this.envVars = {
      HOST: "0.0.0.0",
      PORT: String(CONTAINER_PORT),
      HMAC_SECRET: env.HMAC_SECRET,
      NODE_ENV: "production",
      WORKSPACES_ROOT: "/mnt/r2/threadbox/threads",
    };
  }
}
