#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs everything, compiles, and runs every test on
# Node 24 (unit tests, the dist/ check, workflow validation, end-to-end runs of the bundle).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
rm -rf build
tsc -p tsconfig.json
node --test --test-reporter=spec "$@" "build/__tests__/**/*.test.js"
