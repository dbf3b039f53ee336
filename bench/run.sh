#!/usr/bin/env bash
# npm run bench -- inventory [DOMAINS_PER_HOST]   (needs the lab: npm run lab -- up)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
name=${1:?usage: npm run bench -- inventory [DOMAINS_PER_HOST]}
case $name in
  inventory)
    per_host=${2:-200}
    bash lab/lab.sh up >/dev/null
    bash lab/lab.sh unpopulate >/dev/null
    bash lab/lab.sh populate "$per_host"
    npx esbuild bench/inventory.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning \
      --external:cpu-features --external:'*.node' --outfile=out/bench/inventory.js
    trap 'bash lab/lab.sh unpopulate >/dev/null' EXIT
    node out/bench/inventory.js ;;
  *) echo "unknown benchmark '$name' (have: inventory)"; exit 2 ;;
esac
