#!/usr/bin/env bash
# Runs every test: unit tests beside the code, integration tests on the real
# host (inside namespaces the tests make), and end-to-end tests with Debian's
# `openstack` CLI. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
scripts/setup.sh --test

# Only *.test.js files: Node 20 would also run every .js under a folder named
# test (helpers, fixtures) if given the folders.
mapfile -t files < <(find dist/src dist/test -name '*.test.js' 2>/dev/null | sort)
# Each test file is its own process; two at a time on these 2-core machines.
status=0
node --test --test-concurrency="${STACKLET_TEST_CONCURRENCY:-2}" --test-timeout=900000 "${files[@]}" || status=$?

# Nothing a test made may outlive the run, in the machine's own namespace:
# no namespace, link or nftables table with a Stacklet prefix (all test
# prefixes start with "sl"), no qemu or dnsmasq of a test's data dir.
leftover=$(
  ip netns list 2>/dev/null | awk '{print "namespace " $1}' | grep -E ' sl' || true
  ip -o link show 2>/dev/null | awk -F': ' '{print "link " $2}' | grep -E ' sl' || true
  nft list tables 2>/dev/null | awk '{print "nft table " $2 " " $3}' | grep -E ' sl[a-z]*_' || true
  pgrep -a -f 'qemu-system-x86_64 -name guest=sl' || true
  pgrep -a -f 'dnsmasq --conf-file=/tmp/' || true
)
if [ -n "$leftover" ]; then
  printf 'the test run left these behind:\n%s\n' "$leftover" >&2
  status=1
fi
exit "$status"
