#!/usr/bin/env bash
# `npm run lint`'s shell check. The programs Ferry runs on hypervisor hosts (src/remote/**/*.sh, and the transport's
# hang-up watcher) are POSIX sh, as the hosts' /bin/sh (dash) runs them: every finding counts. The repo's own bash
# (lab, scripts, e2e, CI) is checked for warnings and errors; a finding where the code is right carries a
# `# shellcheck disable=SCxxxx # reason`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo 'shellcheck is not installed (Debian/Ubuntu: apt install shellcheck; lab/install-deps.sh installs it)' >&2; exit 1; }
mapfile -t remote < <(find src/remote src/transport -name '*.sh' | sort)
mapfile -t remote_bash < <(find src/remote src/transport -name '*.bash' | sort)
mapfile -t local_scripts < <(find lab scripts e2e -name '*.sh' | sort; echo .ci/run)
status=0
shellcheck -s sh -f gcc "${remote[@]}" || status=1
shellcheck -s bash -f gcc "${remote_bash[@]}" || status=1
shellcheck -s bash -S warning -f gcc "${local_scripts[@]}" || status=1
exit "$status"
