#!/usr/bin/env bash
# npm test: set-up, type check, lint, unit tests, the lab, integration tests against it, the packaged extension in
# real VS Code (UI + extension host). Ends with one plain "N passed, N failed" line over all suites.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO" || exit 1
OUT=$(mktemp -d /tmp/ferry-test-XXXX)
passed=0; failed=0; status=0
count_vitest() {  # add a vitest JSON report's totals; a skipped or unfinished test counts as failed
  local p f
  read -r p f < <(node -e "const r=require('$1');console.log(r.numPassedTests, r.numTotalTests - r.numPassedTests)" 2>/dev/null || echo "0 1")
  passed=$((passed + p)); failed=$((failed + f))
}
count_plain() {  # add the "name: N passed, N failed" lines a log holds
  local p f
  read -r p f < <(grep -hoE '^(ui|exthost|package): [0-9]+ passed, [0-9]+ failed' "$1" | awk '{p+=$2; f+=$4} END {print p+0, f+0}')
  passed=$((passed + p)); failed=$((failed + f))
}
list_failures() {  # the failed tests of a vitest JSON report, one line each, for the end of the log
  node -e "const r=require('$1');for(const f of r.testResults)for(const t of f.assertionResults)if(t.status!=='passed')console.log('  '+t.status+': '+f.name.replace(process.cwd()+'/','')+' > '+t.fullName+': '+String(t.failureMessages[0]||'').split('\\n')[0].slice(0,300))" 2>/dev/null
}
step() { echo; echo "=== $* ==="; }
fail() { echo "FAILED: $*"; status=1; }

step "set-up (Debian packages, QEMU 10, guest kernel, Chromium, code-server, npm packages)"
bash scripts/setup.sh || { echo "set-up failed"; echo "0 passed, 1 failed"; exit 1; }
step "type check";  npm run -s typecheck || { fail "type check"; failed=$((failed + 1)); }
step "lint";        npm run -s lint || { fail "lint"; failed=$((failed + 1)); }
step "unit tests";  npx vitest run --reporter=default --reporter=json --outputFile="$OUT/unit.json" || fail "unit tests"
count_vitest "$OUT/unit.json"
step "lab up";      bash lab/lab.sh up || { echo "the lab did not come up"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
step "integration tests against the lab"
npx vitest run --config vitest.integration.config.ts --reporter=default --reporter=json --outputFile="$OUT/integration.json" || fail "integration tests"
count_vitest "$OUT/integration.json"
step "build and package"
{ npm run -s build && npm run -s build:tests && npm run -s package; } || { fail "build"; failed=$((failed + 1)); }
step "the package as a gallery sees it (vsce ls, vsce package with a base URL, what Open VSX and the Marketplace require)"
{
  npx vsce ls --no-dependencies 2>&1 | tee "$OUT/vsce-ls.log" | grep -qiE '\bwarn' && echo "FAIL vsce ls warned: $(grep -iE '\bwarn' "$OUT/vsce-ls.log")"
  FERRY_PUBLIC_URL=https://example.org/ferry bash scripts/package.sh "$OUT/gallery.vsix" > "$OUT/vsce.log" 2>&1 &&
    python3 scripts/check-package.py "$OUT/gallery.vsix" https://example.org/ferry "$OUT/vsce.log"
} 2>&1 | tee "$OUT/package.log"
count_plain "$OUT/package.log"
grep -qE '^package: [0-9]+ passed, 0 failed' "$OUT/package.log" && ! grep -q '^FAIL vsce ls' "$OUT/package.log" || { fail "package check"; failed=$((failed + 1)); }
step "real VS Code: UI and extension host"
E2E_SHOTS=${E2E_SHOTS:-$OUT/shots} bash e2e/run.sh 2>&1 | tee "$OUT/e2e.log"
[ "${PIPESTATUS[0]}" = 0 ] || fail "e2e"
count_plain "$OUT/e2e.log"
grep -qE '^ui: [0-9]+ passed' "$OUT/e2e.log" || failed=$((failed + 1))       # a suite that never reported counts as failed
grep -qE '^exthost: [0-9]+ passed' "$OUT/e2e.log" || failed=$((failed + 1))
echo
echo "screenshots and reports: $OUT"
for report in "$OUT/unit.json" "$OUT/integration.json"; do [ -f "$report" ] && list_failures "$report"; done
grep -hE '^(FAIL |  [0-9]+\) )' "$OUT/e2e.log" 2>/dev/null | head -20   # ui step failures, mocha failures
echo "left running: the lab (its hosts' sshd, libvirtd and guest tiny1 in network namespaces); npm run lab -- down ends it"
[ $failed -gt 0 ] && status=1
echo "$passed passed, $failed failed"
exit $status
