import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import readme from "../../README.md?raw";
import { ERROR_STATUS, type ErrorCode } from "../../shared/src/index.ts";
import { app } from "../../worker/src/app.ts";
import { ALL_CODES, UNUSED_PUBLICLY } from "../../worker/src/openapi-errors.ts";
import { ROUTES } from "../../worker/src/openapi-routes.ts";
import { PAGE_ROUTES } from "../../worker/src/routes/pages.ts";

type Example = { summary?: string; value: unknown };
type Operation = {
  operationId: string;
  tags: string[];
  summary: string;
  parameters: { name: string; in: string }[];
  requestBody?: { content: Record<string, { examples?: Record<string, Example> }> };
  responses: Record<string, { content?: Record<string, { examples?: Record<string, { value: { error: { code: ErrorCode } } }> }> }>;
};
type Doc = { paths: Record<string, Record<string, Operation>> };

async function document(): Promise<Doc> {
  // An address of its own: requests without one share the "local" bucket that open-routes.test.ts drains.
  const res = await exports.default.fetch("http://threadbox.test/openapi.json", { headers: { "CF-Connecting-IP": "203.0.113.11" } });
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

/** Hono's `/v1/threads/:thread/files/*` as OpenAPI's `/v1/threads/{thread}/files/{path}`. */
const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}").replace(/\/\*$/, "/{path}");
const operations = (doc: Doc) => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

/** The JSON bodies of the README's curl examples (`-d '…'`). */
const readmeBodies = [...readme.matchAll(/-d '([^']*)'/g)].map((m) => JSON.parse(m[1] ?? "null") as unknown);

describe("the OpenAPI document is complete", () => {
  // The first request of the file loads the worker's modules: slow on a busy machine, so not inside a test's bound.
  beforeAll(() => document(), 60_000);

  it("documents every route the worker serves (its pages aside), and nothing it does not", async () => {
    const doc = await document();
    const pages = new Set<string>(PAGE_ROUTES);
    const served = app.routes
      .filter((r) => r.method !== "ALL" && !pages.has(r.path) && !r.path.endsWith("/"))
      .map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`);
    const documented = operations(doc).map(({ method, path }) => `${method} ${path}`);
    expect(served.length).toBeGreaterThan(25);
    expect([...new Set(documented)].sort()).toEqual([...new Set(served)].sort());
  });

  it("names, tags and describes every operation, with its path and query parameters", async () => {
    const doc = await document();
    const ids = operations(doc).map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, op } of operations(doc)) {
      expect(op.tags, path).toHaveLength(1);
      expect(op.summary.length, path).toBeGreaterThan(5);
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(op.parameters.filter((p) => p.in === "path").map((p) => p.name), path).toEqual(inPath);
    }
    const events = doc.paths["/v1/threads/{thread}/executions/{id}/events"]?.get;
    expect(events?.parameters.map((p) => p.name)).toContain("after");
  });

  it("documents each error a route answers with, under its code's one status, with an example", async () => {
    const doc = await document();
    const seen = new Set<ErrorCode>();
    for (const { path, method, op } of operations(doc)) {
      const where = `${method} ${path}`;
      for (const [status, response] of Object.entries(op.responses)) {
        if (!/^[45]\d\d$/.test(status) || (op.operationId === "health" && status === "503")) continue;
        const examples = response.content?.["application/json"]?.examples ?? {};
        expect(Object.keys(examples).length, `${where} ${status}`).toBeGreaterThan(0);
        for (const [code, example] of Object.entries(examples)) {
          expect(ERROR_STATUS[code as ErrorCode], `${where}: ${code}`).toBe(Number(status));
          expect(example.value.error.code).toBe(code);
          seen.add(code as ErrorCode);
        }
      }
      const documented = Object.keys(op.responses);
      if (op.operationId !== "health" && op.operationId !== "openapi") expect(documented, where).toEqual(expect.arrayContaining(["401", "403"]));
      expect(documented, where).toEqual(expect.arrayContaining(["429", "500", "default"]));
      if (op.requestBody?.content["application/json"]) expect(documented, where).toEqual(expect.arrayContaining(["400", "413"]));
      if (path.startsWith("/v1/threads/{thread}")) expect(documented, where).toContain("404");
    }
    // Every code the public API answers with is documented somewhere; NOT_FOUND answers a route that does not exist.
    const expected = ALL_CODES.filter((c) => !UNUSED_PUBLICLY.includes(c) && c !== "NOT_FOUND");
    expect([...seen].sort()).toEqual(expected.sort());
  });

  it("gives each JSON request body examples, the README's own, each accepted by the route's schema", async () => {
    const doc = await document();
    expect(readmeBodies.length).toBeGreaterThan(15);
    for (const { path, method, op } of operations(doc)) {
      const body = op.requestBody?.content["application/json"];
      if (!body) continue;
      const examples = Object.values(body.examples ?? {});
      expect(examples.length, `${method} ${path}`).toBeGreaterThan(0);
      const schema = ROUTES[path]?.[method]?.body;
      for (const example of examples) {
        expect(readmeBodies, `${op.operationId}: ${example.summary}`).toContainEqual(example.value);
        expect(schema?.safeParse(example.value).success, `${op.operationId}: ${example.summary}`).toBe(true);
      }
    }
  });

  it("describes the execution answers in each format, with the x-execution-id header", async () => {
    const doc = await document();
    const exec = doc.paths["/v1/threads/{thread}/exec"]?.post?.responses["200"] as { headers?: object; content?: object } | undefined;
    expect(Object.keys(exec?.content ?? {}).sort()).toEqual(["application/json", "application/x-ndjson", "text/event-stream"]);
    expect(Object.keys(exec?.headers ?? {})).toContain("x-execution-id");
    const put = doc.paths["/v1/threads/{thread}/files/{path}"]?.put?.requestBody?.content ?? {};
    expect(Object.keys(put)).toEqual(["application/octet-stream"]);
  });
});
