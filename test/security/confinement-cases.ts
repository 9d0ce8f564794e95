import { chmodSync, chownSync, copyFileSync, existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { TEST_SECRET } from "../runtime/harness.ts";
import { execOn, type HostileCase } from "./hostile.ts";
import { expectAllDenied, hostFile, pyExec, REPORT, reported } from "./programs.ts";

/**
 * SECURITY.md's rows on what a program must not see or gain: another thread's temp files (R18), host files by hard
 * link (X12), secrets in its environment (X13), inherited descriptors (X14), privileges from a setuid binary (X16).
 */
const HARD_LINKS = `${REPORT}
import errno, os
found = {}
for label, src in [("passwd", "/etc/passwd"), ("shadow", "/etc/shadow"), ("host file", os.environ["HOST_FILE"])]:
    try:
        os.link(src, "/link-" + label.replace(" ", "-"))
        found[label] = "LINKED"
    except OSError as e:
        found[label] = errno.errorcode.get(e.errno)
report(**found)
`;

const OPEN_FDS = `${REPORT}
import os
def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
report(fds=[fd for fd in range(4096) if is_open(fd)])
`;

export const CONFINEMENT_CASES: HostileCase[] = [
  {
    id: "R18",
    title: "write /tmp/x, /dev/shm/x, /var/tmp/x; read them from another thread",
    route: "exec",
    body: () => ({ command: 'for d in /tmp /dev/shm /var/tmp; do echo secret > $d/x-$TBX_MARK || exit 1; cat $d/x-$TBX_MARK; done' }),
    async check(out, ctx) {
      ctx.expect(out.exec).toMatchObject({ exit_code: 0, stdout: "secret\nsecret\nsecret\n" });
      const m = ctx.marker;
      const other = await execOn(ctx.target, ctx.bystander, `cat /tmp/x-${m} /dev/shm/x-${m} /var/tmp/x-${m}`);
      ctx.expect(other.exit_code).not.toBe(0);
      ctx.expect(other.stdout).toBe("");
      for (const d of ["/tmp", "/dev/shm", "/var/tmp"]) ctx.expect(existsSync(`${d}/x-${m}`), `host ${d}`).toBe(false);
    },
  },
  {
    id: "X12",
    title: "hard link a host file into the workspace",
    route: "exec",
    async prepare(ctx) {
      writeFileSync(hostFile(ctx, "x12-file"), "host file", { mode: 0o644 });
    },
    body: (ctx) => ({ ...pyExec(HARD_LINKS, 30), env: { HOST_FILE: hostFile(ctx, "x12-file") } }),
    check(out, ctx) {
      // protected_hardlinks refuses a link to a file the sandbox uid does not own (EPERM); a read-only bind or
      // another mount refuses any link (EXDEV, EROFS); a host-only path does not exist in the sandbox (ENOENT).
      expectAllDenied(ctx, reported(out.exec.stdout), ["EPERM", "EXDEV", "EROFS", "ENOENT", "EACCES"]);
    },
  },
  {
    id: "X13",
    title: "print os.environ",
    route: "exec",
    body: () => ({ command: "env" }),
    check(out, ctx) {
      for (const s of [TEST_SECRET, ...ctx.target.canaries]) ctx.expect(out.exec.stdout).not.toContain(s);
      const names = out.exec.stdout.split("\n").map((l) => l.split("=")[0] ?? "");
      ctx.expect(names.filter((n) => /SECRET|TOKEN|PASSWORD|API_KEY|HMAC|AWS_|^R2_/i.test(n))).toEqual([]);
    },
  },
  {
    id: "X14",
    title: "list the open file descriptors",
    route: "exec",
    body: () => pyExec(OPEN_FDS, 30),
    check(out, ctx) {
      ctx.expect(reported(out.exec.stdout)).toEqual({ fds: [0, 1, 2] });
    },
  },
  {
    id: "X16",
    title: "run a setuid binary",
    route: "exec",
    // A setuid-root copy of `id` in the workspace: only root (the test) can make one.
    skip: process.getuid?.() === 0 ? undefined : "making a setuid-root binary needs the tests to run as root",
    async prepare(ctx) {
      const file = path.join(ctx.dir, "suid-id");
      copyFileSync("/usr/bin/id", file);
      chownSync(file, 0, 0);
      chmodSync(file, 0o4755);
    },
    body: () => ({ command: "id -u; /suid-id -u; su -c 'id -u' root </dev/null; echo su=$?; sudo -n id -u; echo sudo=$?" }),
    check(out, ctx) {
      const [uid, suid, ...rest] = out.exec.stdout.trim().split("\n");
      ctx.expect(uid).not.toBe("0");
      ctx.expect(suid, "the setuid bit gave the program root").toBe(uid);
      ctx.expect(rest.filter((l) => l === "0")).toEqual([]);
      ctx.expect(rest.filter((l) => /^(su|sudo)=0$/.test(l))).toEqual([]);
    },
  },
];

