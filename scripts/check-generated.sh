#!/usr/bin/env bash
# Fails when the committed generated code differs from what proto/ generates, or README.md's
# configuration table from what the schema (src/app/config-schema.ts) generates.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent generate
if ! git diff --exit-code --stat -- gen || [ -n "$(git status --porcelain -- gen)" ]; then
  echo "generated code is stale: run 'npm run generate' and commit the result" >&2
  exit 1
fi
echo "generated code is up to date"
# README.md's table of configuration keys, generated from the schema (npm run docs:config).
npx --no-install tsx scripts/config-docs.ts --check
