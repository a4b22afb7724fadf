#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs everything, checks style (ESLint, Prettier),
# compiles, runs the unit tests (in process, one file per src/ folder), rebuilds dist/ from the
# sources, then runs the end-to-end tests against that bundle, the way the runner runs it, on
# Node 24. Arguments go to both node --test runs (for example --test-name-pattern=...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
eslint --max-warnings=0 .
prettier --check . >/dev/null || { prettier --check .; echo "Run npm run format to fix the layout."; exit 1; }
rm -rf build
tsc -p tsconfig.json
node --test --test-reporter=spec "$@" "build/__tests__/unit/**/*.test.js"
# The end-to-end tests run the bundle: build it from the sources just compiled, so they test
# what is being changed (CI checks separately that the committed dist/ is this build).
ncc build build/src/index.js -o dist --license licenses.txt --quiet
node --test --test-reporter=spec "$@" "build/__tests__/e2e/**/*.test.js"
