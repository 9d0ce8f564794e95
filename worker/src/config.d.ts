import { z } from "zod";
import { type ImportPolicy } from "../../shared/src/index.ts";
declare const ImportPoliciesSchema: z.ZodObject<{
    default: z.ZodOptional<z.ZodObject<{
        allow: z.ZodOptional<z.ZodArray<z.ZodString>>;
        deny: z.ZodOptional<z.ZodArray<z.ZodString>>;
    }, z.core.$strict>>;
    tenants: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodObject<{
        allow: z.ZodOptional<z.ZodArray<z.ZodString>>;
        deny: z.ZodOptional<z.ZodArray<z.ZodString>>;
    }, z.core.$strict>>>;
}, z.core.$strict>;
export type ImportPolicies = z.infer<typeof ImportPoliciesSchema>;
/** The deployment's import policy for one tenant (undefined: none). */
export declare function tenantImportPolicy(policies: ImportPolicies, tenant: string): ImportPolicy | undefined;
export interface WorkerConfig {
    runtimeUrls: string[];
    hmacSecret: string;
    queueMax: number;
    idleTimeoutMs: number;
    maxBodyBytes: number;
    /** Per API key (and per tenant for thread tokens): a token bucket of `burst`, refilled at `perMinute`. */
    rateLimit: {
        perMinute: number;
        burst: number;
    };
    /** Per thread token, under its tenant's `rateLimit`. */
    tokenRateLimit: {
        perMinute: number;
        burst: number;
    };
    /** Per client address on the routes that need no credentials. */
    openRateLimit: {
        perMinute: number;
        burst: number;
    };
    /** Origins whose pages may call the API from a browser (besides the worker's own). */
    corsOrigins: string[];
    /** IMPORT_POLICY: the deployment's Python import policies, per tenant or by default. */
    importPolicies: ImportPolicies;
}
/** The worker's vars and secrets, validated once per isolate; a misconfiguration is a clear 500, not a crash. */
export declare function workerConfig(env: Env): WorkerConfig;
export {};
