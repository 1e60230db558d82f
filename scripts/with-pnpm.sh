#!/usr/bin/env bash
# Runs a root package script on a machine that may have only Node >= 20 and npm:
# gets pnpm if it is missing, installs the workspace, then runs `pnpm <script> [args]`.
#   bash scripts/with-pnpm.sh demo     # the main job
#   bash scripts/with-pnpm.sh test     # the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  echo "pnpm not found; installing it with npm" >&2
  npm install --global pnpm@12 >&2 || {
    echo "global install failed; using npx pnpm@12" >&2
    pnpm() { npx --yes pnpm@12 "$@"; }
  }
fi
pnpm install --prefer-offline >&2
exec pnpm "$@"
