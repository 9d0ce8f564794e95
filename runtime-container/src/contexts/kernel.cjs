// threadbox Node context kernel (JavaScript and TypeScript contexts): one persistent Node process, driven over fd 3
// by newline-delimited JSON, the same protocol as kernel.py. The runtime sends cells already rewritten (js-cell.ts):
// an async wrapper whose top-level names are global `var`s, so `vm.runInThisContext` keeps them between cells.
//   in:  {"op": "run", "id", "code", "env"?, "cell_env"?}   {"op": "interrupt", "id"?}
//   out: {"type": "ready", "pid", "node"}   {"type": "display", "id", "mime", "data", "source"}
//        {"type": "done", "id", "ok", "result" | "error": {"type", "value", "traceback", "line", "column"}}
// A control thread (a worker) owns fd 3, so an interrupt gets through while a cell keeps the main thread busy.
"use strict";
(() => {
  const fs = require("node:fs");
  const path = require("node:path");
  const util = require("node:util");
  const vm = require("node:vm");
  const { createRequire } = require("node:module");
  const { Worker } = require("node:worker_threads");

  const MARK = "\x1e\x1ethreadbox-cell-end:";
  // Non-zero while a cell runs: its sequence number, which the control thread checks before forcing an interrupt.
  const running = new Int32Array(new SharedArrayBuffer(4));
  const control = new Worker(`(${controlThread})()`, { eval: true, workerData: { running } });
  const send = (frame) => control.postMessage(frame);
  const queue = [];
  let current = null;
  let seq = 0;

  function controlThread() {
    const inspector = require("node:inspector");
    const net = require("node:net");
    const { parentPort, workerData } = require("node:worker_threads");
    const FORCE_AFTER_MS = 200;
    const socket = new net.Socket({ fd: 3, readable: true, writable: true });
    const die = () => process.kill(process.pid, "SIGKILL"); // the runtime went away
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("end", die).on("error", die);
    socket.on("data", (chunk) => {
      buffered += chunk;
      for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        if (line.trim()) handle(JSON.parse(line));
      }
    });
    parentPort.on("message", (frame) => socket.write(`${JSON.stringify(frame)}\n`));

    function handle(msg) {
      parentPort.postMessage(msg);
      const cell = Atomics.load(workerData.running, 0);
      if (msg.op !== "interrupt" || cell === 0) return;
      // SIGINT breaks a synchronous run (vm's breakOnSigint); an await is abandoned by the main thread itself.
      process.kill(process.pid, "SIGINT");
      setTimeout(() => {
        if (Atomics.load(workerData.running, 0) !== cell) return;
        // Still busy (a loop after an await, in a timer): terminate whatever JavaScript the main thread runs.
        const session = new inspector.Session();
        session.connectToMainThread();
        session.post("Runtime.terminateExecution", () => session.disconnect());
      }, FORCE_AFTER_MS);
    }
  }

  control.on("message", (msg) => {
    if (msg.op === "run") {
      queue.push(msg);
      if (!current) void next();
    } else if (msg.op === "interrupt" && current && (!msg.id || msg.id === current.id)) {
      current.abandon();
    }
  });

  async function next() {
    while (queue.length > 0) await runCell(queue.shift());
  }

  async function runCell(msg) {
    const filename = `<cell-${msg.id}>`;
    let abandon = () => {};
    const abandoned = new Promise((_, reject) => (abandon = () => reject(interruption("was stopped; anything it still awaited is abandoned"))));
    current = { id: msg.id, abandon };
    Atomics.store(running, 0, ++seq);
    let frame;
    // A cell's own variables, put back as they were once it has answered.
    const saved = Object.keys(msg.cell_env || {}).map((name) => [name, process.env[name]]);
    try {
      Object.assign(process.env, msg.env || {}, msg.cell_env || {});
      const script = new vm.Script(msg.code, { filename, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
      const box = await Promise.race([script.runInThisContext({ breakOnSigint: true }), abandoned]);
      Atomics.store(running, 0, 0);
      frame = { type: "done", id: msg.id, ok: true, result: box && box.value !== undefined ? bundle(box.value) : null };
    } catch (err) {
      Atomics.store(running, 0, 0);
      frame = { type: "done", id: msg.id, ok: false, error: cellError(err, filename, msg.code.split("\n").length) };
    }
    current = null;
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    for (const fd of [1, 2]) {
      try {
        fs.writeSync(fd, `${MARK}${msg.id}\n`);
      } catch {}
    }
    send(frame);
  }

  function interruption(what) {
    const err = new Error(`the cell ran past its timeout and ${what}; the context keeps its state`);
    err.name = "Interrupted";
    return err;
  }

  /** The rich representations of a value: text/plain always, text/html and image/png when it has them. */
  function bundle(value) {
    const out = { "text/plain": util.inspect(value) };
    const rich = [
      ["_repr_html_", "text/html", (v) => String(v)],
      ["_repr_png_", "image/png", (v) => Buffer.from(v).toString("base64")],
    ];
    for (const [method, mime, encode] of rich) {
      if (value === null || value === undefined || typeof value[method] !== "function") continue;
      try {
        const rendered = value[method]();
        if (rendered) out[mime] = encode(rendered);
      } catch {}
    }
    return out;
  }

  function cellError(err, filename, scriptLines) {
    if (err && err.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") err = interruption("was interrupted");
    const isError = err instanceof Error || (err !== null && typeof err === "object" && typeof err.stack === "string");
    const stack = isError && typeof err.stack === "string" ? err.stack : "";
    // Frames up to the outermost one in a cell are the user's; below it, and the wrapper's own call (the script's
    // last line), are the kernel's.
    const lines = stack.split("\n");
    const isFrame = (line) => /^\s+at /.test(line);
    const wrapper = (line) => line.includes(`${filename}:${scriptLines}:`);
    const outermost = lines.findLastIndex((line) => isFrame(line) && line.includes("<cell-") && !wrapper(line));
    const traceback = lines.filter((line, i) => !isFrame(line) || (i <= outermost && !wrapper(line) && !line.includes("[eval]"))).join("\n");
    const escaped = filename.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // A SyntaxError from compiling starts with "<cell>:LINE"; otherwise the innermost frame in this cell.
    const at = new RegExp(`^${escaped}:(\\d+)`).exec(stack) || new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(stack);
    return {
      type: isError ? err.name || "Error" : err === null ? "null" : typeof err === "object" ? err.constructor?.name || "Object" : typeof err,
      value: isError ? String(err.message) : util.inspect(err),
      traceback: traceback || (isError ? `${err.name}: ${err.message}` : `Uncaught ${util.inspect(err)}`),
      line: at ? Number(at[1]) : null,
      column: at && at[2] ? Number(at[2]) : null,
    };
  }

  /** Shows values as rich outputs of the running cell (like IPython's display). */
  function display(...values) {
    for (const value of values) {
      for (const [mime, data] of Object.entries(bundle(value))) send({ type: "display", id: current?.id ?? null, mime, data, source: "display" });
    }
  }

  // `require` resolves from the current working directory (the workspace's node_modules), wherever a cell chdirs.
  const requires = new Map();
  const requireHere = () => {
    const dir = process.cwd();
    if (!requires.has(dir)) requires.set(dir, createRequire(path.join(dir, "[cell]")));
    return requires.get(dir);
  };
  const cellRequire = (id) => requireHere()(id);
  cellRequire.resolve = (id, options) => requireHere().resolve(id, options);
  cellRequire.cache = require.cache;

  /** Named imports (see js-cell.ts): from the module, or from a CommonJS module's exports object. */
  function importNamed(ns, names, spec) {
    const exported = ns.default;
    const out = {};
    for (const name of names) {
      if (name in ns) out[name] = ns[name];
      else if (name !== "default" && exported !== null && (typeof exported === "object" || typeof exported === "function") && name in exported) {
        out[name] = exported[name];
      } else throw new SyntaxError(`The requested module '${spec}' does not provide an export named '${name}'`);
    }
    return out;
  }

  const globals = { display, require: cellRequire, __threadbox_import: importNamed };
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
  // The cells' dynamic import() is an experimental vm feature on Node 20: its one-time warning is not the user's.
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    if (String(warning?.message ?? warning).includes("USE_MAIN_CONTEXT_DEFAULT_LOADER")) return;
    return emitWarning.call(process, warning, ...rest);
  };
  // A SIGINT that reaches no synchronous run must not end the kernel; errors outside a cell are printed, not fatal.
  process.on("SIGINT", () => {});
  process.on("uncaughtException", (err) => process.stderr.write(`Uncaught ${util.inspect(err)}\n`));
  process.on("unhandledRejection", (err) => process.stderr.write(`Unhandled rejection ${util.inspect(err)}\n`));
  send({ type: "ready", pid: process.pid, node: process.versions.node });
})();
