#!/usr/bin/env bash
# Real-VS-Code tests against the lab (see e2e/run.mjs). Needs: lab up, e2e/setup-tools.sh, npm run build:tests && npm run package.
# The run dir (code-server's profiles and logs) is kept when a test failed, to read; removed when all passed, unless
# it was given (E2E_RUN) or holds the screenshots (no E2E_SHOTS).
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# the package under test is the last one built: one older than the sources would test old code without a word
newer=$(find "$REPO/src" "$REPO/package.json" "$REPO/media" -newer "$REPO/dist/ferry.vsix" -type f -print -quit 2>/dev/null)
if [ ! -f "$REPO/dist/ferry.vsix" ] || [ -n "$newer" ]; then
  echo "[e2e] dist/ferry.vsix is missing or older than ${newer:-the sources}: npm run build:tests && npm run package" >&2
  exit 2
fi
RUN=${E2E_RUN:-$(mktemp -d /tmp/ferry-e2e-XXXX)}
SHOTS=${E2E_SHOTS:-$RUN/shots}
echo "[e2e] run dir $RUN, screenshots in $SHOTS"
node "$REPO/e2e/run.mjs" "$RUN" "$SHOTS"
status=$?
if [ "$status" = 0 ] && [ -z "${E2E_RUN:-}" ] && [ -n "${E2E_SHOTS:-}" ]; then
  rm -rf "$RUN"
else
  echo "[e2e] run dir kept: $RUN"
fi
exit "$status"
