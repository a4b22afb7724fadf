#!/usr/bin/env bash
# Quick start: installs everything, then packages the example buildpack for amd64 and arm64 with
# the action's own pipeline (through the command-line entry) and says where the results are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
out="${DEMO_OUTPUT:-${TMPDIR:-/tmp}/multiarch-buildpack-demo}"
npm run -s cli -- --path examples/hello-buildpack --version 0.1.0 --output "$out" --experimental | tee "$out.metadata.log"
echo
echo "OCI image layout (one image index, amd64 + arm64): $out"
echo "  inspect it:  skopeo inspect --raw oci:$out:0.1.0"
echo ".cnb files:"
ls -1 "$out"/*.cnb | sed 's/^/  /'
echo "Log and outputs (metadata JSON at the end): $out.metadata.log"
