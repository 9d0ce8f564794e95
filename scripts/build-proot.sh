#!/usr/bin/env bash
# Builds proot 5.4 with its seccomp accelerator into .build/proot-5.4/proot and prints that path (not .build/tools,
# which every sandbox sees).
# Why: Debian's proot (5.1 in bookworm and trixie, 5.4 in sid) is built with the accelerator compiled out (a
# Debian patch from 2017, when 5.1 crashed with it on kernels >= 4.8; upstream fixed that in 5.2). Without it
# every guest syscall stops in the tracer twice (BENCHMARKS.md, "proot's seccomp accelerator"). sid's binary
# package needs glibc 2.38, so it is built here from Debian's own source package (its upstream tarball, without
# the patch that turns the accelerator off), through apt with a throwaway state directory: the machine's apt
# configuration is not changed, and the tarball's hash comes from Debian's signed index.
# Use it with PROOT_BIN=$(bash scripts/build-proot.sh). Idempotent: a finished build is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[build-proot] %s\n' "$*" >&2; }
VERSION=5.4.0
out=.build/proot-5.4
bin=$out/proot
if [[ -x $bin ]] && "$bin" --version 2>/dev/null | grep -q "seccomp_filter = yes" && "$bin" --version | grep -q "$VERSION"; then
  echo "$PWD/$bin"
  exit 0
fi

missing=()
for pkg in gcc make libtalloc-dev pkgconf; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing build dependencies: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian mirror this machine already uses (deb822 .sources or a one-line sources.list entry).
mirror=$(grep -hoE '^URIs:[[:space:]]*\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
[[ -n $mirror ]] || mirror=$(grep -hoE '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $NF}' | grep -v security | head -1 || true)
[[ -n $mirror ]] || { say "no Debian mirror found in the apt configuration"; exit 1; }

work=.build/proot-src
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s sid main\n' "$mirror" > "$work/apt/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$PWD/$work/apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$PWD/$work/apt/lists"
  -o "Dir::Cache=$PWD/$work/apt/cache" -o APT::Sandbox::User=root)
say "reading Debian's source index (sid) into $work/apt"
apt-get "${apt_opts[@]}" update -qq
# The upstream tarball's URI and SHA256 from the signed index; apt's own helper fetches and checks it.
line=$(apt-get "${apt_opts[@]}" source --print-uris -qq "proot=$VERSION-*" 2>/dev/null | grep -E "proot_${VERSION}\.orig\.tar\.[a-z]+'" | head -1 || true)
[[ -n $line ]] || line=$(apt-get "${apt_opts[@]}" source --print-uris -qq proot | grep -E "proot_${VERSION}\.orig\.tar\.[a-z]+'" | head -1 || true)
[[ -n $line ]] || { say "Debian's sid has no proot $VERSION source package any more"; exit 1; }
read -r uri name _size hash <<<"$line"
uri=${uri//\'/}
say "fetching $name"
/usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$uri" "$work/$name" "$hash" >/dev/null
tar -xf "$work/$name" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name "proot-[0-9]*" | head -1)
say "building $src"
make -s -C "$src/src" proot VERSION="$VERSION" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; exit 1; }
mkdir -p "$out"
cp "$src/src/proot" "$bin"
"$bin" --version | grep -q "seccomp_filter = yes" || { say "the build has no seccomp accelerator"; exit 1; }
rm -rf "$work"
say "built $bin"
echo "$PWD/$bin"
