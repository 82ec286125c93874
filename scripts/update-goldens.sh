#!/usr/bin/env bash
# Rewrites examples/*/expected-routes.txt with what `tabby render` prints now — after an intended change to planning
# or rendering. Tests only compare; nothing else writes these files. Review the diff, and keep each folder's
# hand-derived-routes.txt (the oracle, derived from Calico's rules) as it is unless Calico's rules say otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in examples/*/; do
  npx tsx src/cli/main.ts render -f "$dir" >"${dir}expected-routes.txt"
done
git --no-pager diff --stat -- 'examples/*/expected-routes.txt'
