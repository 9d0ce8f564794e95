#!/usr/bin/env bash
# Builds the production runtime image the way a deploy does, and checks both deploy configurations (`npm run image`;
# `npm run image:test` then runs the container tests against it):
#   1. host tools (podman, runc, mmdebstrap, ...) and the local base images (bases.sh), each only when missing;
#   2. `wrangler deploy --dry-run --env containers`: validates the bundle and configuration and builds
#      runtime-container/Dockerfile with wrangler's own docker command, which docker-shim.sh hands to podman; the
#      image is tagged $IMAGE for the tests;
#   3. `wrangler deploy --dry-run` (the URL fleet's configuration);
#   4. reports the image's size and its largest layers.
#   build.sh [--rebuild-bases] [--no-cache]
# Base images and build layers stay in podman's storage: a second run on the same machine rebuilds only what changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
# shellcheck source=lib.sh
source "$here/lib.sh"

bases_flag=()
for arg in "$@"; do
  case $arg in
    --rebuild-bases) bases_flag=(--rebuild) ;;
    --no-cache) export THREADBOX_IMAGE_NO_CACHE=1 ;;
    *) die "unknown argument: $arg (build.sh [--rebuild-bases] [--no-cache])" ;;
  esac
done

started=$SECONDS
bash scripts/setup.sh # wrangler and the repository's npm packages
bash "$here/host-packages.sh"
bash "$here/bases.sh" "${bases_flag[@]}"
bases_done=$SECONDS
[[ -s $BUILD_CA ]] || die "no CA bundle at $BUILD_CA (set THREADBOX_BUILD_CA)"

# wrangler's output: the bindings and containers it would deploy, or why not; the build's own log on failure.
dry_run() {
  local log out
  log="$(mktemp /var/tmp/threadbox-dry-run.XXXXXX)"
  out="$(mktemp -d /var/tmp/threadbox-bundle.XXXXXX)"
  if ! WRANGLER_DOCKER_BIN="$here/docker-shim.sh" WRANGLER_SEND_METRICS=false \
    npx --no-install wrangler deploy --dry-run --outdir "$out" "$@" </dev/null >"$log" 2>&1; then
    tail -80 "$log" >&2
    rm -rf "$out"
    die "wrangler deploy --dry-run $* failed (log: $log)"
  fi
  grep -E '^(Total Upload|Building image|- |env\.)' "$log" | sed 's/^/[image]   /' >&2
  rm -rf "$log" "$out"
}

say "wrangler deploy --dry-run --env containers (builds runtime-container/Dockerfile)"
dry_run --env containers
# Untagged images made from earlier base images go (a new base makes every layer above it new); those made from the
# current bases stay, the next build's cache. Only images made from these bases carry the label: nothing else in
# podman's storage is touched.
current="$(image_label "$NODE_IMAGE" threadbox.base.recipe)"
pm image prune --force --filter label=threadbox.base.recipe --filter "label!=threadbox.base.recipe=$current" >/dev/null || true
built=$SECONDS
say "wrangler deploy --dry-run (the URL fleet)"
dry_run --env ""

bytes="$(pm image inspect --format '{{.Size}}' "$IMAGE")"
say "built $IMAGE: $((bytes / 1000000)) MB uncompressed; bases $((bases_done - started)) s, image $((built - bases_done)) s"
say "layers over 1 MB:"
pm history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | awk -F'\t' '$1 ~ /MB|GB/' | cut -c1-110 | sed 's/^/[image]   /' >&2
