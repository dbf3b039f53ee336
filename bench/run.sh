#!/usr/bin/env bash
# npm run bench -- inventory [DOMAINS_PER_HOST] | migration | conntrack | sampling | qos | traffic | upgrade | kubevirt
#                  (brings the lab up if it is not)
#                  | fleet   (takes the lab down, runs ten guest-less hosts of 1000 domains each, takes them down)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
name=${1:?usage: npm run bench -- inventory [DOMAINS_PER_HOST] | migration | conntrack | sampling | qos | traffic | upgrade | kubevirt | fleet}
bash scripts/setup.sh lab   # a fresh clone: Debian packages, QEMU 10, npm packages (esbuild)
build() { npx esbuild "bench/$1.ts" --bundle --platform=node --format=cjs --target=node20 --log-level=warning --loader:.sh=text --loader:.bash=text --loader:.awk=text \
  --external:cpu-features --external:'*.node' --outfile="out/bench/$1.js" "${@:2}"; }
case $name in
  inventory)
    per_host=${2:-200}
    bash lab/lab.sh up >/dev/null
    bash lab/lab.sh unpopulate >/dev/null
    bash lab/lab.sh populate "$per_host"
    build inventory
    trap 'bash lab/lab.sh unpopulate >/dev/null' EXIT
    node out/bench/inventory.js ;;
  sampling|upgrade|kubevirt)   # its guests' traffic (upgrade: a UDP heartbeat) is new flows, which strict conntrack drops
    bash lab/lab.sh up >/dev/null
    bash lab/lab.sh ct loose >/dev/null
    trap 'bash lab/lab.sh ct strict >/dev/null' EXIT
    build "$name"
    node "out/bench/$name.js" ;;
  migration|conntrack|qos|traffic)   # the lab as it is, the bench of that name
    bash lab/lab.sh up >/dev/null
    build "$name"
    node "out/bench/$name.js" ;;
  fleet)
    per_host=${2:-1000}
    build fleet --alias:vscode=./bench/vscode-tree-stub.ts
    fleet=(env LAB_HOSTS="A B C D E F G H I J" LAB_GUESTS=none LAB_CT=none)
    trap 'bash lab/lab.sh down >/dev/null' EXIT   # every host that is up, the fleet's beyond the lab's three removed
    "${fleet[@]}" bash lab/lab.sh up >/dev/null
    "${fleet[@]}" bash lab/lab.sh populate "$per_host"
    FLEET_DOMAINS_PER_HOST=$per_host node --expose-gc out/bench/fleet.js ;;
  *) echo "unknown benchmark '$name' (have: inventory, migration, conntrack, sampling, qos, traffic, upgrade, kubevirt, fleet)"; exit 2 ;;
esac
