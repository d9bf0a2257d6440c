#!/usr/bin/env bash
# Installs what Stacklet needs on a Debian 12 machine and builds it.
# Safe to run again: it only installs what is missing and rebuilds what changed.
#   scripts/setup.sh            runtime packages, npm modules, build, /usr/local/bin/stacklet
#   scripts/setup.sh --test     also the packages the tests use (Debian's openstack CLI, ...)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1
say() { printf '[setup] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "run as root: Stacklet installs Debian packages and manages namespaces, bridges, nftables and VMs"
  exit 1
fi

# --- Debian packages
lists=(scripts/deps-debian.txt)
[ "$with_tests" = 1 ] && lists+=(scripts/deps-test-debian.txt)
wanted=$(cat "${lists[@]}" 2>/dev/null | sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u)
missing=()
for p in $wanted; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
# Node 20+: Debian 12 ships 18, so a machine without a newer one gets Debian's packages only if they are new enough.
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  say "Node.js 20 or newer is needed (this machine has $(node --version 2>/dev/null || echo none)); install it (e.g. from your distribution's backports or NodeSource) and run this again"
  exit 1
fi
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- npm modules (better-sqlite3 compiles against Node's headers on first install)
if [ ! -f node_modules/.stacklet-lock ] || ! cmp -s package-lock.json node_modules/.stacklet-lock; then
  say "installing npm modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json node_modules/.stacklet-lock
fi

# --- build when any source is newer than the build
if [ ! -f dist/src/cli/main.js ] || [ -n "$(find src test bench -name '*.ts' -newer dist/src/cli/main.js 2>/dev/null | head -n 1)" ] || [ tsconfig.json -nt dist/src/cli/main.js ]; then
  say "building (tsc)"
  npx tsc -p tsconfig.json
  touch dist/src/cli/main.js
  chmod +x dist/src/cli/main.js
fi
# What bin/stacklet runs: one file loads in half the time of the ES modules.
if [ ! -f dist/bundle/main.js ] || [ -n "$(find dist/src -name '*.js' -newer dist/bundle/main.js | head -n 1)" ]; then
  say "bundling (esbuild)"
  node scripts/bundle.mjs
fi

# --- the dashboard, when it exists
if [ -f dashboard/package.json ]; then
  if [ ! -d dashboard/node_modules ] || ! cmp -s dashboard/package-lock.json dashboard/node_modules/.stacklet-lock; then
    say "installing the dashboard's npm modules"
    (cd dashboard && npm ci --no-audit --no-fund --loglevel=error >&2 && cp package-lock.json node_modules/.stacklet-lock)
  fi
  if [ ! -f dashboard/dist/index.html ] || [ -n "$(find dashboard/src dashboard/index.html -newer dashboard/dist/index.html 2>/dev/null | head -n 1)" ]; then
    say "building the dashboard"
    (cd dashboard && npm run build --silent >&2)
    node scripts/precompress.mjs dashboard/dist
  fi
fi

ln -sf "$PWD/bin/stacklet" /usr/local/bin/stacklet
