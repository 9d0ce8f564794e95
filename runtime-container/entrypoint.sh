#!/bin/sh
# The runtime image's entrypoint, started by tini (PID 1, which reaps what sandboxes leave behind):
#   1. STORAGE_MODE=mount: mount the R2 bucket with the runtime's own s3fs code (runtime-container/src/storage/);
#   2. run the runtime's self-test (storage probe, sandbox layers), as the user the server will run as;
#   3. exec the server (the image's CMD, or the arguments given) in this process's place.
#
#   entrypoint.sh [--check] [command ...]
#     --check   steps 1 and 2 only; exit 0 when the runtime could serve.
#
# THREADBOX_USER (optional): run the self-test and the server as this user instead of root. The bucket is then
# mounted here as root and the server only verifies it (STORAGE_MOUNT_BY=external), never seeing the storage
# credentials; but a non-root server cannot give each thread its own uid, so sandboxes run as the server's uid
# (the self-test reports the isolation as degraded). The default, root, is the stronger choice: see the README.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'threadbox entrypoint: %s\n' "$*" >&2; }

check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  shift
fi
if [ "$#" -eq 0 ]; then set -- node --import tsx runtime-container/src/main.ts; fi

# Prefix that runs a command as THREADBOX_USER (setpriv from util-linux: no setuid helper, no new privileges).
drop=""
if [ -n "${THREADBOX_USER:-}" ]; then
  server_ids="$(id -u "$THREADBOX_USER"):$(id -g "$THREADBOX_USER")"
  drop="setpriv --reuid=${server_ids%:*} --regid=${server_ids#*:} --init-groups --no-new-privs --"
fi

if [ "${STORAGE_MODE:-local}" = "mount" ]; then
  owner=""
  if [ -n "${THREADBOX_USER:-}" ]; then
    # Remounting needs root: the non-root server leaves that to whoever restarts the container.
    export STORAGE_MOUNT_BY=external
    owner="--owner=$server_ids"
  fi
  say "mounting bucket ${R2_BUCKET:-?}"
  node --import tsx runtime-container/src/storage-cli.ts mount $owner
  if [ "${STORAGE_MOUNT_BY:-runtime}" = "external" ]; then
    # The server only verifies the mount: it never needs the storage credentials.
    unset R2_ACCESS_KEY_ID R2_SECRET_ACCESS_KEY
  fi
fi

# Sandbox ids inside the container's user namespace. A rootless platform maps the container's root to an unprivileged
# host uid and only a block of ids with it (podman --userns, Docker userns-remap: typically 65,536); the default range
# (200,000,000 up) lies outside such a map, so every uid switch would fail and the runtime would refuse to start.
# Unless the range is set, take the largest block mapped for both uids and gids above the image's own users (20000),
# short of nobody (65534).
fit_ids() {
  [ -z "${SANDBOX_UID_BASE:-}${SANDBOX_ID_RANGE:-}" ] || return 0
  [ -r /proc/self/uid_map ] && [ -r /proc/self/gid_map ] || return 0
  fit="$(awk -v want_lo=200000000 -v want_hi=200100000 '
    FNR == 1 { f++ }
    { lo[f, ++n[f]] = $1; hi[f, n[f]] = $1 + $3 }
    END {
      best = 0
      for (i = 1; i <= n[1]; i++) for (j = 1; j <= n[2]; j++) {
        a = lo[1, i] > lo[2, j] ? lo[1, i] : lo[2, j]; b = hi[1, i] < hi[2, j] ? hi[1, i] : hi[2, j]
        if (a <= want_lo && b >= want_hi) { print "default"; exit }
        if (a < 20000) a = 20000
        if (a <= 65534 && b > 65534) b = 65534
        if (b - a > best) { best = b - a; base = a }
      }
      if (best > 10000000) best = 10000000
      print (best >= 1024 ? base " " best : "none " best)
    }' /proc/self/uid_map /proc/self/gid_map)"
  case "$fit" in
    default) ;;
    none*) say "the user namespace maps too few ids for per-thread uids (largest block: ${fit#none } ids); the self-test will say what is missing" ;;
    *)
      export SANDBOX_UID_BASE="${fit% *}" SANDBOX_ID_RANGE="${fit#* }"
      say "user namespace: sandbox ids $SANDBOX_UID_BASE..$((SANDBOX_UID_BASE + SANDBOX_ID_RANGE - 1))"
      ;;
  esac
}
fit_ids

# What each layer needs of the container (README: "What each flag buys"), in the order the summary lists them.
# pid_namespace is the one that is not required (the uid sweep ends what a run leaves behind).
LAYER_NEEDS='[
  ["uid_switch", "root in the container (CAP_SETUID, CAP_SETGID) and at least 1,024 mapped ids"],
  ["seccomp", "seccomp filters (no --security-opt seccomp=... that forbids them)"],
  ["pid_namespace", "CAP_SYS_ADMIN (--cap-add SYS_ADMIN), not required"],
  ["ipc_namespace", "CAP_SYS_ADMIN (--cap-add SYS_ADMIN)"],
  ["tracer_protected", "CAP_SYS_ADMIN (--cap-add SYS_ADMIN) and the uid switch"],
  ["net_namespace", "user and network namespaces for root (under Docker: --cap-add SYS_ADMIN)"],
  ["egress_filter", "nftables in the kernel"],
  ["user_mode_stack", "/dev/net/tun (--device /dev/net/tun), CAP_SYS_ADMIN, and pivot_root (Docker'"'"'s seccomp profile refuses it)"],
  ["protected_hardlinks", "fs.protected_hardlinks=1 on the host (sysctl)"]
]'

# A summary on stderr of the self-test's report (stdout keeps the JSON report): every required layer holds, the
# runtime runs degraded, or it refused to start; then which layers do not hold and what each needs.
summarize() {
  node -e '
    const [report, verdict, needs] = process.argv.slice(1);
    const r = JSON.parse(report);
    const l = r.layers;
    const holds = (k) => (k === "user_mode_stack" ? l[k] != null : l[k] === true);
    // tracer_protected is null under bwrap, which has no tracer.
    const layers = JSON.parse(needs).filter(([k]) => !(k === "tracer_protected" && l[k] === null));
    const held = layers.filter(([k]) => holds(k)).map(([k]) => k);
    const off = layers.filter(([k]) => !holds(k)).map(([k, need]) => `${k} needs ${need}`);
    const head = verdict === "refused" ? "REFUSED to start" : l.degraded ? "DEGRADED isolation" : "required layers hold";
    const say = (line) => console.error(`threadbox entrypoint: ${line}`);
    say(`${head} (${r.isolation}); holds: ${held.join(", ") || "none"}`);
    if (off.length) say(`not held: ${off.join("; ")}`);
    if (verdict === "refused") say("ALLOW_DEGRADED_ISOLATION=1 would start it degraded (development only: README, Deployment)");
    else say(`storage: ${r.storage.mode === "mount" ? `bucket mounted at ${r.storage.mount_dir}` : "workspaces on local disk"}`);
  ' "$1" "$2" "$LAYER_NEEDS" || true
}

report_line() { printf '%s\n' "$1" | grep '^{"ok":' | tail -n 1; }

say "self-test"
if ! report="$($drop node --import tsx runtime-container/src/main.ts --self-test)"; then
  # The runtime said why on stderr. For the summary only (never on stdout, never served): the same self-test allowed
  # to degrade, which reports every layer, so the summary can say what holds and what the missing ones need.
  case "${ALLOW_DEGRADED_ISOLATION:-0}" in
    1 | true | yes) ;;
    *)
      diag="$(report_line "$(ALLOW_DEGRADED_ISOLATION=1 $drop node --import tsx runtime-container/src/main.ts --self-test 2>/dev/null || true)")"
      if [ -n "$diag" ]; then summarize "$diag" refused; fi
      ;;
  esac
  exit 1
fi
printf '%s\n' "$report"
summarize "$(report_line "$report")" ""
if [ "$check" = 1 ]; then exit 0; fi

say "starting: $*"
exec $drop "$@"
