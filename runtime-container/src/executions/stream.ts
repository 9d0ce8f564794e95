import { type EventBody, type ExecutionEvent, isTerminal } from "../../../shared/src/index.ts";

/**
 * One execution's events: stamps each with `seq` and `execution_id`, buffers them, and hands them to one consumer
 * in order. Nothing is accepted after the terminal event, so a stream can never report two endings.
 */
export class ExecutionStream {
  private seq = 0;
  private readonly buffer: ExecutionEvent[] = [];
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(readonly executionId: string) {}

  emit(body: EventBody): void {
    if (this.ended) return;
    const event = { ...body, seq: this.seq++, execution_id: this.executionId } as ExecutionEvent;
    this.ended = isTerminal(event);
    this.buffer.push(event);
    this.wake?.();
  }

  async *events(): AsyncGenerator<ExecutionEvent> {
    for (;;) {
      const event = this.buffer.shift();
      if (event) {
        yield event;
        if (isTerminal(event)) return;
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}
