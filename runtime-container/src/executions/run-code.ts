import path from "node:path";
import { AppError, ErrorCode, type ResultPayload, type RunCode } from "../../../shared/src/index.ts";
import { transpileTypeScript } from "../contexts/typescript.ts";
import { type ReserveRoom, requestFilesRoom, removeRunDir, writeRequestFiles } from "../files/request-files.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";
import { runArgv } from "./exec.ts";
import { type KindHandler, inWorkspace, timeoutS } from "./kind-handler.ts";
import type { ExecutionContext } from "./registry.ts";

/** The `run_code` kind (the worker sends python and bash as run_python and exec). */
export const runCodeHandler: KindHandler<"run_code"> = (s, { loc, req }) =>
  inWorkspace(s, loc, "the run was not started", (ws, ctx, { run }) =>
    runCode(run, ws, req, timeoutS(s, req.timeout), ctx, requestFilesRoom(s.quota, loc)),
  );

/**
 * JavaScript/TypeScript code, written to a module under /.threadbox and run by Node from the workspace (its
 * node_modules). TypeScript is transpiled here with esbuild first — the same as in TypeScript contexts, whatever
 * the Node version, enums and namespaces included — and Node maps its stack traces back to main.ts.
 */
export async function runCode(
  run: GuestRunner,
  ws: ReadyWorkspace,
  req: RunCode,
  timeoutS: number,
  ctx: ExecutionContext,
  reserve?: ReserveRoom,
): Promise<ResultPayload> {
  if (req.language !== "javascript" && req.language !== "typescript") {
    throw new AppError(ErrorCode.VALIDATION_FAILED, `the runtime's run_code runs javascript and typescript; ${req.language} goes to exec or run_python`);
  }
  const runDir = path.join(".threadbox", "runs", ctx.executionId);
  const guestDir = path.posix.join(ws.guestRoot, runDir);
  const main = req.language === "typescript" ? await transpiled(req.code, `${guestDir}/main.ts`) : req.code;
  await writeRequestFiles(ws.loc.dir, runDir, { "main.mjs": main }, null, reserve);
  try {
    const argv = ["node", "--enable-source-maps", `${guestDir}/main.mjs`];
    return await runArgv(run, ws, { ...req, cwd: req.cwd ?? ws.guestRoot, argv }, timeoutS, ctx);
  } finally {
    await removeRunDir(ws.loc.dir, runDir, (msg, fields) => ctx.logger.warn(msg, fields));
  }
}

/** The module with its inline source map (sources included); code that does not compile reports why when run. */
async function transpiled(code: string, guestSource: string): Promise<string> {
  const out = await transpileTypeScript(code, { sourcefile: "main.ts", keepImports: false, inlineMap: true });
  if (out.ok) return out.code;
  // The way Node reports a syntax error: on stderr, with status 1.
  const report = `${guestSource}:${out.error.line ?? 1}\n${out.error.traceback}\n`;
  return `process.stderr.write(${JSON.stringify(report)});\nprocess.exitCode = 1;\n`;
}
