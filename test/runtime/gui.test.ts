import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecResult, ExecutionEvent, RunPythonResponse } from "../../shared/src/index.ts";
import { type RuntimeProcess, processesMatching, readEvents, startRuntime } from "./harness.ts";

let rt: RuntimeProcess;
beforeAll(async () => {
  rt = await startRuntime({ DISPLAY_SCREEN: "800x600x24" });
});
afterAll(async () => {
  await rt?.stop();
});

type Shot = { width: number; height: number; stddev: number };

/** Decodes a PNG with ImageMagick: its size and the standard deviation of its pixels (0 for a blank picture). */
async function inspectPng(base64: string): Promise<Shot> {
  const png = Buffer.from(base64, "base64");
  expect(png.subarray(1, 4).toString()).toBe("PNG");
  const { stdout } = await execa("identify", ["-format", "%w %h %[fx:standard_deviation]", "png:-"], { input: png });
  const [width, height, stddev] = stdout.trim().split(" ").map(Number);
  return { width: width as number, height: height as number, stddev: stddev as number };
}

const screenshots = (events: ExecutionEvent[]) =>
  events.flatMap((e) => (e.type === "display" && e.source === "screenshot" && e.mime === "image/png" ? [e.data] : []));

const TK_WINDOW = `
import tkinter as tk
root = tk.Tk()
root.geometry("400x300+20+20")
canvas = tk.Canvas(root, width=400, height=300, bg="white")
canvas.pack()
canvas.create_rectangle(40, 40, 360, 260, fill="red")
canvas.create_text(200, 150, text="threadbox", font=("Helvetica", 32))
root.after(1500, root.destroy)
root.mainloop()
print("closed")
`;

describe("GUI: a virtual display per thread and screenshots taken during the run", () => {
  it("captures a tkinter window while it is up (not blank), streamed before the result", async () => {
    const res = await rt.call("POST", "/threads/acme/gui/run_python", { body: { code: TK_WINDOW, capture_screenshot: true }, accept: "ndjson" });
    const events = await readEvents(res);
    const result = events.at(-1);
    expect(result).toMatchObject({ type: "result" });
    const value = (result as Extract<ExecutionEvent, { type: "result" }>).result.value as RunPythonResponse;
    expect(value.metadata.stdout).toBe("closed\n");
    const shots = screenshots(events);
    expect(shots.length).toBeGreaterThanOrEqual(1);
    const shot = await inspectPng(shots[0] as string);
    expect(shot).toMatchObject({ width: 800, height: 600 });
    expect(shot.stddev).toBeGreaterThan(0.05);
    // Every screenshot comes before the terminal event.
    const last = events.findLastIndex((e) => e.type === "display");
    expect(last).toBeLessThan(events.length - 1);
  });

  it("returns screenshots in a plain JSON answer under `displays`", async () => {
    const code = `import tkinter as tk\nroot = tk.Tk()\ntk.Label(root, text="hello", font=("Helvetica", 40), bg="yellow").pack()\nroot.update()\nroot.destroy()\n`;
    const r = await rt.json<RunPythonResponse>("POST", "/threads/acme/gui/run_python", { code, capture_screenshot: true });
    expect(r.is_error).toBe(false);
    const shot = (r.displays ?? []).find((d) => d.source === "screenshot");
    expect(shot?.mime).toBe("image/png");
    // Captured by the hook before destroy() took the window away.
    expect((await inspectPng(shot?.data as string)).stddev).toBeGreaterThan(0.01);
  });

  it("shows a matplotlib figure in a real window without blocking in show()", async () => {
    const code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2, 4], linewidth=6)\nplt.show()\nprint(plt.get_backend())";
    const r = await rt.json<RunPythonResponse>("POST", "/threads/acme/gui/run_python", { code, capture_screenshot: true, timeout: 60 });
    expect(r.metadata).toMatchObject({ timed_out: false, exit_code: 0 });
    expect(r.metadata.stdout.toLowerCase()).toContain("tkagg");
    const shot = (r.displays ?? []).find((d) => d.source === "screenshot");
    expect((await inspectPng(shot?.data as string)).stddev).toBeGreaterThan(0.01);
  });

  it("answers an empty display with an empty-looking PNG, not an error", async () => {
    const r = await rt.json<RunPythonResponse>("POST", "/threads/acme/gui/run_python", { code: "print('no windows')", capture_screenshot: true });
    expect(r.is_error).toBe(false);
    const shots = (r.displays ?? []).filter((d) => d.source === "screenshot");
    expect(shots).toHaveLength(1);
    const shot = await inspectPng(shots[0]?.data as string);
    expect(shot).toMatchObject({ width: 800, height: 600, stddev: 0 });
  });

  it("sets DISPLAY for shell commands too, and leaves runs without capture_screenshot display-less", async () => {
    const withShots = await rt.json<ExecResult>("POST", "/threads/acme/gui/exec", { command: "echo $DISPLAY", capture_screenshot: true });
    expect(withShots.stdout).toMatch(/^:\d+\n$/);
    expect(withShots.displays?.[0]?.source).toBe("screenshot");
    const without = await rt.json<ExecResult>("POST", "/threads/acme/gui/exec", { command: "echo \"[$DISPLAY]\"" });
    expect(without.stdout).toBe("[]\n");
    expect(without.displays).toBeUndefined();
  });

  it("gives each thread its own display, which another thread cannot open without its cookie", async () => {
    const a = await rt.json<ExecResult>("POST", "/threads/acme/gui-a/exec", { command: "echo $DISPLAY", capture_screenshot: true });
    const b = await rt.json<ExecResult>("POST", "/threads/acme/gui-b/exec", { command: "echo $DISPLAY", capture_screenshot: true });
    const displayA = a.stdout.trim();
    expect(displayA).not.toBe(b.stdout.trim());
    // Thread b aims at thread a's display with its own credentials: refused.
    const probe = `import os, tkinter\nos.environ["DISPLAY"] = "${displayA}"\ntry:\n    tkinter.Tk()\n    print("opened")\nexcept tkinter.TclError as e:\n    print("refused", e)`;
    const r = await rt.json<RunPythonResponse>("POST", "/threads/acme/gui-b/run_python", { code: probe, capture_screenshot: true });
    expect(r.metadata.stdout).toMatch(/^refused/);
  });

  it("captures a window a context cell leaves open, and only in cells that ask", async () => {
    const ctx = await rt.json<{ id: string }>("POST", "/threads/acme/gui-ctx/contexts", { language: "python" }, 201);
    const cell = (code: string, capture: boolean) =>
      rt.json<{ ok: boolean; displays?: { source: string; data: string }[] }>("POST", `/threads/acme/gui-ctx/contexts/${ctx.id}/run`, {
        code,
        capture_screenshot: capture,
      });
    const open = await cell(`import tkinter as tk\nroot = tk.Tk()\ntk.Label(root, text="kept", font=("Helvetica", 48), bg="cyan").pack()`, true);
    expect(open.ok).toBe(true);
    const shot = open.displays?.find((d) => d.source === "screenshot");
    expect((await inspectPng(shot?.data as string)).stddev).toBeGreaterThan(0.01);
    // The window (and the variable) survive the cell; a cell without capture_screenshot takes no picture.
    const later = await cell("root.title('still here')", false);
    expect(later).toMatchObject({ ok: true });
    expect(later.displays).toBeUndefined();
  });

  it("gives the display server PATH and nothing else of the runtime's environment (its secret included)", async () => {
    await rt.json<ExecResult>("POST", "/threads/acme/gui-env/exec", { command: "true", capture_screenshot: true });
    const [xvfb] = await processesMatching("acme.gui-env.auth");
    const pid = Number(xvfb?.split(":")[0]);
    const environ = (await readFile(`/proc/${pid}/environ`, "utf8")).split("\0").filter(Boolean);
    // LD_PRELOAD is the launcher's own (nondumpable.so: the server parses what the thread sends it).
    expect(environ.map((v) => v.split("=")[0]).sort()).toEqual(["LD_PRELOAD", "PATH"]);
    expect(environ.find((v) => v.startsWith("LD_PRELOAD="))).toMatch(/nondumpable\.so$/);
  });

  it("stops the thread's display when the thread is released", async () => {
    const r = await rt.json<ExecResult>("POST", "/threads/acme/gui-rel/exec", { command: "echo $DISPLAY", capture_screenshot: true });
    const display = r.stdout.trim();
    const xvfb = () => processesMatching("acme.gui-rel.auth");
    expect((await xvfb()).length).toBe(1);
    const released = await rt.json<{ display: boolean }>("POST", "/threads/acme/gui-rel/release");
    expect(released.display).toBe(true);
    await expect.poll(xvfb, { timeout: 10_000 }).toHaveLength(0);
    expect(display).toMatch(/^:\d+$/);
  });
});
