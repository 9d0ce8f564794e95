import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AppError, ERROR_STATUS, ErrorBodySchema, ErrorCode, toAppError } from "../../shared/src/index.ts";

describe("error codes", () => {
  it("maps every code to exactly one 4xx/5xx status", () => {
    for (const code of Object.values(ErrorCode)) {
      const status = ERROR_STATUS[code];
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
    }
    expect(Object.keys(ERROR_STATUS).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it("serializes to the public error shape with details and request id", () => {
    const body = new AppError(ErrorCode.THREAD_BUSY, "busy", { retry_after: 2 }).toBody("req-1");
    expect(ErrorBodySchema.parse(body)).toEqual({
      error: { code: "THREAD_BUSY", message: "busy", details: { retry_after: 2 }, request_id: "req-1" },
    });
  });

  it("turns unknown throws into INTERNAL_ERROR without leaking their message", () => {
    const err = toAppError(new Error("secret path /etc/x"));
    expect(err.code).toBe("INTERNAL_ERROR");
    expect(err.status).toBe(500);
    expect(err.message).not.toContain("/etc/x");
  });

  it("turns zod errors into VALIDATION_FAILED with the issues", () => {
    const parsed = z.object({ a: z.number() }).safeParse({ a: "x" });
    expect(parsed.success).toBe(false);
    const err = toAppError(parsed.error);
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.status).toBe(400);
    expect(Array.isArray(err.details)).toBe(true);
  });
});
