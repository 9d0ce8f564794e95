/**
 * The stand-in runtime's tenants' mounts (test/fake-runtime.ts): kept in memory, answered in the real runtime's
 * shapes (runtime-container/src/routes/mounts.ts), so the worker tests see what arrived and what a tenant holds.
 */
const MOUNTS_PATH = /^\/mounts\/([\w-]+)(?:\/([a-z0-9._-]+)(?:\/files(?:\/(.*))?)?)?$/;

export type MountAnswer = { status: number; body: unknown };

export class FakeMounts {
  private readonly tenants = new Map<string, Map<string, Map<string, number>>>();

  static matches(path: string): boolean {
    return MOUNTS_PATH.test(path);
  }

  handle(method: string, path: string, body: Buffer): MountAnswer {
    const [, tenant = "", name, rest] = MOUNTS_PATH.exec(path) ?? [];
    const rel = rest === undefined ? null : rest.split("/").map(decodeURIComponent).join("/");
    const mounts = this.tenants.get(tenant) ?? new Map<string, Map<string, number>>();
    this.tenants.set(tenant, mounts);
    const missing = { status: 404, body: { error: { code: "MOUNT_NOT_FOUND", message: `no mount named ${name}` } } };
    if (method === "GET" && name === undefined) {
      const list = [...mounts].map(([n, files]) => ({ name: n, files: files.size, bytes: [...files.values()].reduce((a, b) => a + b, 0) }));
      return { status: 200, body: { mounts: list } };
    }
    if (name === undefined) return { status: 405, body: { error: { code: "METHOD_NOT_ALLOWED", message: "no such mounts call" } } };
    const files = mounts.get(name);
    if (method === "PUT" && rel) {
      mounts.set(name, (files ?? new Map()).set(rel, body.length));
      return { status: 201, body: { name, path: rel, size: body.length } };
    }
    if (!files) return missing;
    if (method === "GET") return { status: 200, body: { name, entries: [...files].map(([p, size]) => ({ path: p, type: "file", size })) } };
    if (method === "DELETE" && rel) return files.delete(rel) ? { status: 200, body: { name, deleted: rel } } : missing;
    if (method === "DELETE") return (mounts.delete(name), { status: 200, body: { name, deleted: name } });
    return { status: 405, body: { error: { code: "METHOD_NOT_ALLOWED", message: "no such mounts call" } } };
  }
}
