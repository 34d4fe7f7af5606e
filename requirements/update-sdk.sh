#!/bin/sh
# Re-resolves requirements/sdk-v2.txt and sdk-v3.txt, the exact SageMaker SDK releases (and all
# their dependencies) the docker suite installs into one venv per SDK generation. Same uv as
# update.sh; the test harness names each venv by a hash of its file, so a change here makes a
# fresh venv. Run from anywhere:
#
#   sh requirements/update-sdk.sh             # keep the pins that still fit the .in files
#   sh requirements/update-sdk.sh --upgrade   # the newest releases allowed
set -eu
UV_VERSION=0.13.9
repo=$(cd "$(dirname "$0")/.." && pwd)
tools=${TMPDIR:-/tmp}/container-runtime-lock-uv-$UV_VERSION
if [ ! -x "$tools/bin/uv" ]; then
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet "uv==$UV_VERSION"
fi
cd "$repo"
for generation in v2 v3; do
    "$tools/bin/uv" pip compile "requirements/sdk-$generation.in" \
        --universal --python-version 3.10 \
        --custom-compile-command "sh requirements/update-sdk.sh" \
        --output-file "requirements/sdk-$generation.txt" --quiet "$@"
done
