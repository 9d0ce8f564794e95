import type { ThreadApi } from "../clients.ts";
import { now, sample } from "../measure.ts";
import type { Row } from "../report.ts";
import { type Scenario, row } from "../scenario.ts";

/**
 * 8. Checkpoints (issue 20): a workspace of 10,000 small files of distinct contents in 100 directories, through the
 * runtime API (proot). The first checkpoint stores every content; the next ones, after one file changed, store one
 * new content and read the rest again (content addressing); a restore rebuilds the whole tree aside and swaps it in.
 * Each measured checkpoint is deleted afterwards (untimed), so the thread stays under its checkpoint count.
 */
const FILES = 10_000;
const MAKE = `python3 - <<'PY'
import os
os.makedirs("ckbench", exist_ok=True)
for d in range(100):
    os.makedirs(f"ckbench/{d}", exist_ok=True)
for i in range(${FILES}):
    with open(f"ckbench/{i // 100}/{i}.txt", "w") as f:
        f.write(f"file {i} " * 20)
PY
echo made`;

async function json<T>(res: Promise<Response>): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (!r.ok) throw new Error(`${r.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

type Cp = { id: string; files: number; size_bytes: number };
const take = (api: ThreadApi, thread: string) => json<Cp>(api.request("POST", thread, "/checkpoints", { label: "bench" }));
const drop = (api: ThreadApi, thread: string, id: string) => json(api.request("DELETE", thread, `/checkpoints/${id}`));

export const checkpoints: Scenario = {
  id: 8,
  title: "checkpoints of a 10,000-file workspace",
  async run({ env, loop }) {
    const api = env.runtimeApi("proot");
    const thread = env.newThreadId("ckpt");
    await api.createThread(thread);
    const made = await json<{ stdout: string }>(api.request("POST", thread, "/exec", { command: MAKE, timeout: 300 }));
    if (made.stdout !== "made\n") throw new Error(`making the workspace failed: ${JSON.stringify(made)}`);

    let entries = 0;
    const cold = await sample(loop(3, 0), async () => {
      const t0 = now();
      const cp = await take(api, thread);
      const ms = now() - t0;
      entries = cp.files;
      await drop(api, thread, cp.id); // the next one stores everything again
      return ms;
    });
    const base = await take(api, thread);
    const warm = await sample(loop(5, 1), async (i) => {
      await json(api.request("POST", thread, "/exec", { command: `echo change ${i} > ckbench/0/0.txt` }));
      const t0 = now();
      const cp = await take(api, thread);
      const ms = now() - t0;
      await drop(api, thread, cp.id);
      return ms;
    });
    const list = await json<{ stored_bytes: number }>(api.request("GET", thread, "/checkpoints"));
    const restore = await sample(loop(3, 0), async () => {
      const t0 = now();
      await json(api.request("POST", thread, `/checkpoints/${base.id}/restore`, {}));
      return now() - t0;
    });
    await api.request("DELETE", thread, "");
    const rows: Row[] = [
      row(8, "checkpoint.cold", `checkpoint, ${FILES} files, every content new (runtime API, proot)`, cold, { entries }),
      row(8, "checkpoint.warm", `checkpoint, ${FILES} files, one file changed since the last`, warm, {
        stored_bytes: list.stored_bytes,
        workspace_bytes: base.size_bytes,
      }),
      row(8, "checkpoint.restore", `restore of that checkpoint (built aside, swapped in)`, restore),
    ];
    return rows;
  },
};
