import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
};

async function document(): Promise<Doc> {
  // An address of its own: requests without one share the "local" bucket that open-routes.test.ts drains.
  const res = await exports.default.fetch("http://threadbox.test/openapi.json", { headers: { "CF-Connecting-IP": "203.0.113.10" } });
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

describe("GET /openapi.json", () => {
  it("documents every public route with its methods, without credentials", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.0.3");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/health",
        "/v1/tokens",
        "/v1/threads",
        "/v1/threads/{thread}/exec",
        "/v1/threads/{thread}/run_python",
        "/v1/tools/run_python",
        "/v1/threads/{thread}/run_code",
        "/v1/threads/{thread}/executions/{id}/events",
        "/v1/threads/{thread}/files/{path}",
      ]),
    );
    expect(Object.keys(doc.paths["/v1/threads/{thread}/files/{path}"] ?? {}).sort()).toEqual(["delete", "get", "put"]);
  });

  it("derives request bodies from the validating zod schemas (the run_python tool's body)", async () => {
    const doc = await document();
    const body = doc.paths["/v1/tools/run_python"]?.post?.requestBody as {
      content: { "application/json": { schema: { properties: Record<string, { maximum?: number; default?: unknown }>; required: string[] } } };
    };
    const schema = body.content["application/json"].schema;
    expect(schema.required).toEqual(expect.arrayContaining(["code", "sandbox_id"]));
    expect(schema.properties.timeout?.maximum).toBe(300);
    expect(schema.properties.working_dir?.default).toBe("/workspace");
  });

  it("describes errors with the shared error body", async () => {
    const doc = await document();
    const errors = JSON.stringify(doc.paths["/v1/threads/{thread}/exec"]?.post?.responses.default);
    expect(errors).toContain("THREAD_BUSY");
    expect(errors).toContain("request_id");
  });
});
