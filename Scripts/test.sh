#!/usr/bin/env bash
# The test command of the README: unit tests (debug build), then the interop checks against
# third-party tools (which install what they need). INTEROP=0 skips the second part.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== unit tests (swift test) =="
swift test --parallel --num-workers 2
if [ "${INTEROP:-1}" != "0" ] && [ -x Tests/interop/run.sh ]; then
    echo "== interop checks (Tests/interop/run.sh) =="
    Tests/interop/run.sh
fi
