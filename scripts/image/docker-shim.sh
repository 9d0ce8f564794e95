#!/usr/bin/env bash
# A `docker` for wrangler (WRANGLER_DOCKER_BIN): `wrangler deploy --dry-run --env containers` builds the runtime image
# with its own command line (`docker build --load -t NAME --platform linux/amd64 --provenance=false -f - .`, the
# Dockerfile on stdin, so the context's root .dockerignore applies), exactly as a deploy does. This passes that
# command to podman, adding only what this machine needs: runc, raised ulimits, the host's network, the local base
# images as build arguments, the CA bundle as the npm step's secret, and the tag the container tests use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

if [[ ${1:-} != build ]]; then exec podman --runtime runc "$@"; fi
shift
# Node hands the child a socket, not a pipe, as stdin; podman cannot open that as `-f -`: the Dockerfile goes through a
# file instead (outside the context, so the context's root .dockerignore still decides what is sent).
dockerfile="$(mktemp /var/tmp/threadbox-dockerfile.XXXXXX)"
trap 'rm -f "$dockerfile"' EXIT
args=()
prev=""
for arg in "$@"; do
  if [[ $prev == -f && $arg == - ]]; then
    cat >"$dockerfile"
    arg="$dockerfile"
  fi
  prev=$arg
  case $arg in
    --load | --provenance=*) ;; # BuildKit-only: podman builds into its local storage and records no provenance
    *) args+=("$arg") ;;
  esac
done
[[ ${THREADBOX_IMAGE_NO_CACHE:-} == 1 ]] && args=(--no-cache "${args[@]}")
podman --runtime runc build "${PODMAN_LIMITS[@]}" --pull=never --network=host --layers \
  --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg BUN_IMAGE="$BUN_IMAGE" --build-arg WITH_UV=no \
  --secret id=build_ca,src="$BUILD_CA" -t "$IMAGE" "${args[@]}"
