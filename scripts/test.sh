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

# Nothing a test made may outlive the run: say so loudly if anything did.
leftover=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(slt|slh|slq|sltg)' || true)
if [ -n "$leftover" ]; then
  echo "test run left links in the root namespace: $leftover" >&2
  status=1
fi
exit "$status"
