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
    const r2 = env as Env & Partial<Record<"R2_BUCKET" | "R2_ENDPOINT" | "R2_ACCESS_KEY_ID" | "R2_SECRET_ACCESS_KEY", string>>;
    // With the bucket configured the runtime mounts it (workspaces outlive the container); without, they live on the
    // container's own disk and go with it — fine for a trial, not for production.
    const storage: Record<string, string> = r2.R2_BUCKET
      ? {
          STORAGE_MODE: "mount",
          R2_BUCKET: r2.R2_BUCKET,
          R2_ENDPOINT: r2.R2_ENDPOINT ?? "",
          R2_ACCESS_KEY_ID: r2.R2_ACCESS_KEY_ID ?? "",
          R2_SECRET_ACCESS_KEY: r2.R2_SECRET_ACCESS_KEY ?? "",
        }
      : { STORAGE_MODE: "local" };
    this.envVars = { HOST: "0.0.0.0", PORT: String(CONTAINER_PORT), HMAC_SECRET: env.HMAC_SECRET, NODE_ENV: "production", ...storage };
  }
}
