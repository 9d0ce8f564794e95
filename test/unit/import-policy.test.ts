import { describe, expect, it } from "vitest";
import { CreateThreadSchema, ImportPolicySchema, combineImportPolicies, isOpenImportPolicy } from "../../shared/src/index.ts";
import { importPolicyEnv } from "../../runtime-container/src/python/import-policy.ts";

describe("import policy schema", () => {
  it("takes module names, dotted for submodules", () => {
    expect(ImportPolicySchema.parse({ allow: ["numpy", "xml.etree"], deny: ["_thread"] })).toEqual({ allow: ["numpy", "xml.etree"], deny: ["_thread"] });
  });

  it.each(["", "os path", "numpy.", ".os", "1abc", "a..b", "requests;rm", "x".repeat(201)])("refuses %j, naming the field", (bad) => {
    const parsed = CreateThreadSchema.safeParse({ import_policy: { deny: [bad] } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["import_policy", "deny", 0]);
  });

  it("refuses unknown keys", () => {
    expect(ImportPolicySchema.safeParse({ block: ["os"] }).success).toBe(false);
  });
});

describe("combineImportPolicies", () => {
  it("is nothing when neither restricts", () => {
    expect(combineImportPolicies(undefined, undefined)).toBeUndefined();
    expect(combineImportPolicies({ deny: [] }, {})).toBeUndefined();
    expect(isOpenImportPolicy({ allow: [] })).toBe(false);
  });

  it("denies what either denies", () => {
    expect(combineImportPolicies({ deny: ["requests"] }, { deny: ["socket", "requests"] })).toEqual({ deny: ["requests", "socket"] });
  });

  it("allows only what both allow lists allow, submodules included", () => {
    expect(combineImportPolicies({ allow: ["numpy", "pandas"] }, { allow: ["numpy.linalg", "scipy"] })).toEqual({ allow: ["numpy.linalg"] });
    expect(combineImportPolicies({ allow: ["numpy"] }, { allow: ["scipy"] })).toEqual({ allow: [] });
    expect(combineImportPolicies({ allow: ["numpy"] }, { deny: ["numpy.testing"] })).toEqual({ allow: ["numpy"], deny: ["numpy.testing"] });
  });
});

describe("importPolicyEnv", () => {
  it("carries a restricting policy, and nothing otherwise", () => {
    expect(importPolicyEnv(null)).toEqual({});
    expect(importPolicyEnv({ deny: [] })).toEqual({});
    expect(JSON.parse(importPolicyEnv({ deny: ["socket"] }).THREADBOX_IMPORT_POLICY as string)).toEqual({ allow: null, deny: ["socket"] });
    expect(JSON.parse(importPolicyEnv({ allow: [] }).THREADBOX_IMPORT_POLICY as string)).toEqual({ allow: [], deny: [] });
  });
});
