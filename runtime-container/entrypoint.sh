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
  node --import tsx runtime-container/src/storage/cli.ts mount $owner
  if [ "${STORAGE_MOUNT_BY:-runtime}" = "external" ]; then
    # The server only verifies the mount: it never needs the storage credentials.
    unset R2_ACCESS_KEY_ID R2_SECRET_ACCESS_KEY
  fi
fi

say "self-test"
$drop node --import tsx runtime-container/src/main.ts --self-test
if [ "$check" = 1 ]; then exit 0; fi

say "starting: $*"
exec $drop "$@"
