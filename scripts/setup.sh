#!/usr/bin/env bash
# Everything a fresh machine of this kind needs, idempotent: the lab's Debian packages, guest kernel and QEMU 10;
# Chromium, Node 24 and code-server for the real-VS-Code tests; the project's npm packages.
# usage: setup.sh [all|lab]   (lab: without the real-VS-Code toolchain, for benchmarks)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
bash lab/install-deps.sh
[ "${1:-all}" = lab ] || bash e2e/setup-tools.sh
# npm ci when node_modules is missing or older than the lock file
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
