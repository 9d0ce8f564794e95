import { hostFsTests } from "./host-fs-cases.ts";

// SECURITY.md's host-side file access rows (H1–H8) against a real runtime with proot.
hostFsTests("proot");
