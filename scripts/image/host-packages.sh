#!/usr/bin/env bash
# The host tools the image scripts need, installed from Debian's mirror when missing (no stdin: CI runs this):
# podman with runc (crun refuses hybrid cgroups), mmdebstrap for the Debian base, uidmap and slirp4netns for
# containers in user namespaces (the test of what a rootless platform grants).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

PACKAGES=(podman runc mmdebstrap uidmap slirp4netns)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them with your package manager"
[[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}: run as root, or: sudo apt-get install -y ${missing[*]}"
say "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
