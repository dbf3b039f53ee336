#!/usr/bin/env bash
# Real-VS-Code tests against the lab (see e2e/run.mjs). Needs: lab up, e2e/setup-tools.sh, npm run build:tests && npm run package.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
RUN=${E2E_RUN:-$(mktemp -d /tmp/ferry-e2e-XXXX)}
SHOTS=${E2E_SHOTS:-$RUN/shots}
echo "[e2e] run dir $RUN, screenshots in $SHOTS"
exec node "$REPO/e2e/run.mjs" "$RUN" "$SHOTS"
