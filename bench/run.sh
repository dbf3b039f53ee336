#!/usr/bin/env bash
# npm run bench -- inventory [DOMAINS_PER_HOST] | migration | conntrack | sampling | qos | upgrade   (brings the lab up if it is not)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
name=${1:?usage: npm run bench -- inventory [DOMAINS_PER_HOST] | migration | conntrack | sampling | qos | upgrade}
bash scripts/setup.sh lab   # a fresh clone: Debian packages, QEMU 10, npm packages (esbuild)
build() { npx esbuild "bench/$1.ts" --bundle --platform=node --format=cjs --target=node20 --log-level=warning \
  --external:cpu-features --external:'*.node' --outfile="out/bench/$1.js"; }
case $name in
  inventory)
    per_host=${2:-200}
    bash lab/lab.sh up >/dev/null
    bash lab/lab.sh unpopulate >/dev/null
    bash lab/lab.sh populate "$per_host"
    build inventory
    trap 'bash lab/lab.sh unpopulate >/dev/null' EXIT
    node out/bench/inventory.js ;;
  sampling|upgrade)   # upgrade: its UDP heartbeat is a new flow to a guest, which strict conntrack drops
    bash lab/lab.sh up >/dev/null
    bash lab/lab.sh ct loose >/dev/null
    trap 'bash lab/lab.sh ct strict >/dev/null' EXIT
    build "$name"
    node "out/bench/$name.js" ;;
  migration|conntrack|qos)   # the lab as it is, the bench of that name
    bash lab/lab.sh up >/dev/null
    build "$name"
    node "out/bench/$name.js" ;;
  *) echo "unknown benchmark '$name' (have: inventory, migration, conntrack, sampling, qos, upgrade)"; exit 2 ;;
esac
