import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { AppError, ErrorCode, type ResultPayload, type RunCode } from "../../../shared/src/index.ts";
import { writeRequestFiles } from "../python/write-files.ts";
import type { GuestRunner } from "../runner/guest.ts";
import type { ReadyWorkspace } from "../workspace/manager.ts";
import { runArgv } from "./exec.ts";
import type { ExecutionContext } from "./registry.ts";

const BUN = ["/usr/local/bin/bun", "/usr/bin/bun"].find((p) => existsSync(p));
// Node strips TypeScript types itself from 22.6 on (the container image); older Nodes need bun.
const NODE_STRIPS_TYPES = Number(process.versions.node.split(".")[0]) >= 23 || /^22\.([6-9]|\d\d)/.test(process.versions.node);

function interpreter(language: "javascript" | "typescript"): string[] {
  if (BUN) return [BUN, "run"];
  if (language === "javascript") return ["node"];
  if (NODE_STRIPS_TYPES) return ["node", "--experimental-strip-types", "--no-warnings"];
  throw new AppError(ErrorCode.NOT_IMPLEMENTED, `typescript needs bun or Node >= 22.6 in the runtime image (this one has Node ${process.versions.node})`);
}

/** JavaScript/TypeScript code, written to a module under /.threadbox and run from the workspace (node_modules). */
export async function runCode(run: GuestRunner, ws: ReadyWorkspace, req: RunCode, timeoutS: number, ctx: ExecutionContext): Promise<ResultPayload> {
  if (req.language !== "javascript" && req.language !== "typescript") {
    throw new AppError(ErrorCode.VALIDATION_FAILED, `the runtime's run_code runs javascript and typescript; ${req.language} goes to exec or run_python`);
  }
  const argv = interpreter(req.language);
  const runDir = path.join(".threadbox", "runs", ctx.executionId);
  const file = req.language === "typescript" ? "main.mts" : "main.mjs";
  await writeRequestFiles(ws.loc.dir, runDir, { [file]: req.code }, null);
  try {
    const script = path.posix.join(ws.guestRoot, runDir, file);
    return await runArgv(run, ws, { ...req, cwd: req.cwd ?? ws.guestRoot, argv: [...argv, script] }, timeoutS, ctx);
  } finally {
    await rm(path.join(ws.loc.dir, runDir), { recursive: true, force: true });
  }
}
