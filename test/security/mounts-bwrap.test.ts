import { mountTests } from "./mount-cases.ts";

// SECURITY.md's shared-mount rows (M1–M5) against a real runtime with bwrap.
mountTests("bwrap");
