#!/usr/bin/env bash
# The bundle of Ferry's UI texts (l10n/bundle.l10n.json): every vscode.l10n.t('…') message under src/, as
# @vscode/l10n-dev exports it, keys sorted (the export lists them in the order it happens to walk the files) and
# formatted by prettier (so that `prettier --check .` and this check agree). English only: the bundle is the list
# a translation starts from. The lint rule in eslint.config.mjs (L10N) keeps texts from bypassing vscode.l10n.t.
#   bash scripts/l10n.sh          write l10n/bundle.l10n.json
#   bash scripts/l10n.sh --check  exit 1 if l10n/bundle.l10n.json is not what the sources give
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=l10n/bundle.l10n.json
check=false
case "${1:-}" in
  '') ;;
  --check) check=true ;;
  *) echo "usage: bash scripts/l10n.sh [--check]" >&2; exit 2 ;;
esac

out=$(mktemp -d /tmp/ferry-l10n-XXXX)
trap 'rm -rf "$out"' EXIT
# its log (and its warning that package.json's "l10n" names another folder than the temporary one) only on failure
if ! npx --no -- @vscode/l10n-dev export --outDir "$out" ./src >"$out/export.log" 2>&1; then
  cat "$out/export.log" >&2
  echo "l10n: @vscode/l10n-dev could not export the texts under src/" >&2
  exit 1
fi
if [ ! -f "$out/bundle.l10n.json" ]; then
  cat "$out/export.log" >&2
  echo "l10n: no vscode.l10n.t text found under src/" >&2
  exit 1
fi
node -e '
  const fs = require("fs");
  const bundle = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const keys = Object.keys(bundle).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  fs.writeFileSync(process.argv[2], JSON.stringify(Object.fromEntries(keys.map((k) => [k, bundle[k]])), null, 2));
' "$out/bundle.l10n.json" "$out/sorted.json"
npx --no -- prettier --stdin-filepath "$bundle" <"$out/sorted.json" >"$out/formatted.json"
count=$(node -e 'console.log(Object.keys(require(process.argv[1])).length)' "$out/formatted.json")

if ! $check; then
  mkdir -p "$(dirname "$bundle")"
  cp "$out/formatted.json" "$bundle"
  echo "l10n: wrote $bundle ($count texts)"
  exit 0
fi
if [ ! -f "$bundle" ]; then
  echo "l10n: $bundle is missing; write it with: bash scripts/l10n.sh" >&2
  exit 1
fi
if ! cmp -s "$out/formatted.json" "$bundle"; then
  diff -u --label "$bundle (committed)" --label "$bundle (from the sources)" "$bundle" "$out/formatted.json" >&2 || true
  echo "l10n: $bundle is stale: the vscode.l10n.t texts under src/ differ from it (above). Write it again with: bash scripts/l10n.sh" >&2
  exit 1
fi
echo "l10n: $bundle is up to date ($count texts)"
