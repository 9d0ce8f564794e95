/** Names inside a thread's venv directory that the runtime itself uses. */

/** System mode's per-thread package directory, inside the venv directory (local disk, per thread). */
export const SYSTEM_SITE = "system-site";

/** Present while an install runs in the venv: a venv that still has it was interrupted and is rebuilt. */
export const INSTALLING_MARK = ".threadbox-installing";
