#!/usr/bin/env bash
# npm run package: dist/ferry.vsix. Publishing needs one setting, FERRY_PUBLIC_URL: where the repository's files are
# served as they are (e.g. https://raw.githubusercontent.com/OWNER/ferry/main). With it, the README's relative links
# and images are rewritten to absolute ones under it, as galleries require; without it the package is for local
# installs (its README's pictures live in the repository, not in the package).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/ferry.vsix}
args=(package --no-dependencies --allow-missing-repository -o "$out")
if [ -n "${FERRY_PUBLIC_URL:-}" ]; then
  case $FERRY_PUBLIC_URL in
    https://*) ;;
    *) echo "FERRY_PUBLIC_URL must be an https URL (galleries show no other), not: $FERRY_PUBLIC_URL" >&2; exit 2 ;;
  esac
  base=${FERRY_PUBLIC_URL%/}
  args+=(--baseContentUrl "$base" --baseImagesUrl "$base")
else
  args+=(--no-rewrite-relative-links)
  echo "[package] for local installs: set FERRY_PUBLIC_URL to package for a gallery (see README, Publishing)"
fi
npx vsce "${args[@]}"
