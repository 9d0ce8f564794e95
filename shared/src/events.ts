import { z } from "zod";
import { ErrorCodeSchema } from "./errors.ts";
import { DisplayOutputSchema } from "./exec.ts";
import { ExecutionKindSchema, RESULT_KINDS, type ResultKind } from "./execution-kinds.ts";

/**
 * The stream protocol: one tagged union, parsed at each boundary by parseEvent.
 * `seq` is monotonic per execution starting at 0; exactly one terminal event (`result` or `error`) ends a stream.
 */
const base = {
  seq: z.number().int().nonnegative(),
  execution_id: z.string(),
};

export const StartEventSchema = z.object({
  ...base,
  type: z.literal("start"),
  kind: ExecutionKindSchema,
  thread_id: z.string(),
  started_at: z.string(),
});

export const StdoutEventSchema = z.object({ ...base, type: z.literal("stdout"), data: z.string() });
export const StderrEventSchema = z.object({ ...base, type: z.literal("stderr"), data: z.string() });

export const DisplayEventSchema = z.object({
  ...base,
  type: z.literal("display"),
  ...DisplayOutputSchema.shape,
});

export const InstallEventSchema = z.object({
  ...base,
  type: z.literal("install"),
  phase: z.enum(["start", "progress", "done", "error"]),
  packages: z.array(z.string()),
  message: z.string(),
});

/** `{kind, value}` for each result shape of execution-kinds.ts. */
type ResultUnion = { [R in ResultKind]: z.ZodObject<{ kind: z.ZodLiteral<R>; value: (typeof RESULT_KINDS)[R]["schema"] }> }[ResultKind];
const resultPayloads = (Object.keys(RESULT_KINDS) as ResultKind[]).map((kind) =>
  z.object({ kind: z.literal(kind), value: RESULT_KINDS[kind].schema }),
) as unknown as [ResultUnion, ...ResultUnion[]];

/** The terminal success event: the same value a JSON (non-streaming) call answers with. */
export const ResultEventSchema = z.object({
  ...base,
  type: z.literal("result"),
  result: z.discriminatedUnion("kind", resultPayloads),
});

/** The terminal failure of the platform (not of user code, which is a `result`). */
export const ErrorEventSchema = z.object({
  ...base,
  type: z.literal("error"),
  code: ErrorCodeSchema,
  message: z.string(),
  details: z.unknown().optional(),
});

export const ExecutionEventSchema = z.discriminatedUnion("type", [
  StartEventSchema,
  StdoutEventSchema,
  StderrEventSchema,
  DisplayEventSchema,
  InstallEventSchema,
  ResultEventSchema,
  ErrorEventSchema,
]);
export type ExecutionEvent = z.infer<typeof ExecutionEventSchema>;
export type EventType = ExecutionEvent["type"];
export type ResultPayload = z.infer<typeof ResultEventSchema>["result"];

/** An event before the sink stamps it with seq and execution_id. */
export type EventBody = ExecutionEvent extends infer E
  ? E extends ExecutionEvent
    ? Omit<E, "seq" | "execution_id">
    : never
  : never;

export function isTerminal(event: ExecutionEvent): boolean {
  return event.type === "result" || event.type === "error";
}

export function parseEvent(value: unknown): ExecutionEvent {
  return ExecutionEventSchema.parse(value);
}
