#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Debian packages, npm packages, the seccomp helper.
# Run by `npm test`, `npm start` and `npm run runtime` before anything else; fast when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }

# Debian packages the runtime and its tests use: the sandbox backends, the base Python with the common
# data packages (numpy, pandas, matplotlib), the GUI display (Xvfb, tkinter, ImageMagick for screenshots, x11-utils' xwininfo to find a window by title), s3fs for the
# bucket mount and its tests, a Jupyter kernel (the benchmark's baseline), a C compiler for the native launcher, and
# each sandbox's network: a user-mode stack (slirp4netns) and nftables for its egress rules; Chromium for the
# browser tests (test/browser: playwright-core drives Debian's build, never a downloaded one).
DEB_PACKAGES=(proot bubblewrap python3 python3-venv python3-pip python3-numpy python3-pandas python3-matplotlib python3-tk
  xvfb imagemagick x11-utils s3fs fuse3 python3-ipykernel python3-jupyter-client python3-nbformat gcc libc6-dev util-linux procps
  slirp4netns nftables iproute2 chromium)

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    say "missing packages (${missing[*]}) and no apt-get: install them with your package manager."
    exit 1
  fi
  apt=(apt-get)
  if [[ $(id -u) -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then apt=(sudo -n apt-get); else
      say "missing Debian packages: ${missing[*]}"
      say "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
      exit 1
    fi
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" update -qq
  "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: reinstall when the lock file changed since the last install.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Local worker secrets for wrangler dev and `wrangler types`, random per checkout and readable by this user only:
# HMAC_SECRET is also what `npm start`, `npm run runtime` and scripts/runtime-call.mts give the runtime
# (scripts/dev-vars.mts). A secret from an older checkout that is the published development value is replaced.
# API_KEYS stays empty here: `npm start` passes the dev key's hash.
random_hex() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
touch .dev.vars
chmod 600 .dev.vars
if grep -qx 'HMAC_SECRET=threadbox-local-dev-secret' .dev.vars; then
  say "replacing the published development HMAC_SECRET in .dev.vars with a random one"
  sed -i '/^HMAC_SECRET=/d' .dev.vars
fi
grep -q '^HMAC_SECRET=' .dev.vars || printf 'HMAC_SECRET=%s\n' "$(random_hex)" >> .dev.vars
grep -q '^TOKEN_SECRET=' .dev.vars || printf 'TOKEN_SECRET=%s\n' "$(random_hex)" >> .dev.vars
grep -q '^API_KEYS=' .dev.vars || printf 'API_KEYS={}\n' >> .dev.vars
# The worker's static assets (playground, API reference, landing page) in .build/web, which wrangler.toml's [assets]
# names; wrangler's own [build] step runs the same script before `dev` and `deploy`. Fast when nothing changed.
node --import tsx playground/build.mts

if [[ ! -f worker/worker-configuration.d.ts || wrangler.toml -nt worker/worker-configuration.d.ts || .dev.vars -nt worker/worker-configuration.d.ts ]]; then
  say "generating worker/worker-configuration.d.ts (wrangler types)"
  npx --no-install wrangler types --strict-vars=false worker/worker-configuration.d.ts >/dev/null
fi

# The native launcher that runs in front of proot/bwrap (runtime-container/native/: limits, namespaces, uid drop,
# filter, probe, uid sweep, network namespace holder), and nondumpable.so, which the launcher preloads into proot.
bin=.build/seccomp-exec
so=.build/nondumpable.so
stale=0
for src in runtime-container/native/*.c runtime-container/native/*.h runtime-container/native/nondumpable/*.c; do
  [[ $src -nt $bin || $src -nt $so ]] && stale=1
done
if [[ ! -x $bin || ! -f $so || $stale == 1 ]]; then
  say "compiling $bin and $so"
  mkdir -p .build
  cc -O2 -Wall -Wextra -Werror -o "$bin.tmp" runtime-container/native/*.c
  cc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$so.tmp" runtime-container/native/nondumpable/*.c
  chmod 755 "$bin.tmp"
  chmod 644 "$so.tmp"
  mv "$bin.tmp" "$bin"
  mv "$so.tmp" "$so"
fi

# Bun for the sandboxes (bun, bunx): the image has it at /usr/local/bin; locally the runtime binds .build/tools
# read-only at /.tools in every sandbox (TOOLS_DIR). The binary comes straight from npm's platform package, the version
# the image uses (scripts/image/lib.sh), never from an install script (npm 11 runs none); it is never committed.
bun_version="$(sed -n 's/^BUN_VERSION=\([0-9][0-9.]*\).*/\1/p' scripts/image/lib.sh)"
tools=.build/tools
case "$(uname -m)" in x86_64) bun_pkg=@oven/bun-linux-x64 ;; aarch64) bun_pkg=@oven/bun-linux-aarch64 ;; *) bun_pkg= ;; esac
if [[ -n $bun_pkg && -n $bun_version && "$(cat "$tools/bun.version" 2>/dev/null)" != "$bun_version" ]]; then
  say "installing bun $bun_version into $tools/bin ($bun_pkg)"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent --loglevel=error "$bun_pkg@$bun_version" >name)
  tar -xzf "$work/$(cat "$work/name")" -C "$work" --no-same-owner package/bin/bun
  "$work/package/bin/bun" --version >/dev/null
  rm -rf "$tools.tmp"
  mkdir -p "$tools.tmp/bin"
  install -m 555 "$work/package/bin/bun" "$tools.tmp/bin/bun"
  ln -s bun "$tools.tmp/bin/bunx"
  printf '%s\n' "$bun_version" >"$tools.tmp/bun.version"
  chmod 755 "$tools.tmp" "$tools.tmp/bin"
  rm -rf "$tools"
  mv "$tools.tmp" "$tools"
  rm -rf "$work"
  trap - EXIT
fi

# proot 5.4 with its seccomp accelerator (Debian's proot has it compiled out), built from Debian's source package into
# .build/proot-5.4, which the runtime then uses by default (config.ts PROOT_BIN). Best effort: without it the runtime
# uses the system's proot. THREADBOX_SYSTEM_PROOT=1 skips it.
if [[ ${THREADBOX_SYSTEM_PROOT:-0} != 1 ]] && ! bash scripts/build-proot.sh >/dev/null; then
  say "proot 5.4 could not be built (see above): the runtime uses the system's proot"
fi

# The SDK's JavaScript (`threadbox/client`, `/tools`, `/ai` for plain `node` and bundlers; types come from the
# sources): client/src and the shared code it imports, compiled into dist/ when a source is newer than the build.
stamp=dist/.tsbuildinfo
if [[ ! -f $stamp || -n $(find client/src shared/src client/tsconfig.build.json tsconfig.base.json -newer "$stamp" -print -quit) ]]; then
  say "compiling the SDK into dist/"
  npx --no-install tsc -p client/tsconfig.build.json
  touch "$stamp"
fi
