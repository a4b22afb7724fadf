#!/usr/bin/env bash
# npm run bench: installs what it needs (the test set-up plus buildah and GNU time), builds, and
# measures the action against the tar|gzip|sha256sum floor and buildah on a generated buildpack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
missing=()
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
[ -x /usr/bin/time ] || missing+=(time)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -p tsconfig.json
npm run -s build
node build/scripts/bench.js "$@"
