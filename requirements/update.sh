#!/bin/sh
# Re-resolves requirements/constraints.txt, the lock that the README's commands, .ci/run and the
# framework images install with (pip's -c). Run from anywhere:
#
#   sh requirements/update.sh             # add or move only what setup.py or lock.in now needs
#   sh requirements/update.sh --upgrade   # every package to its newest allowed release
#
# The lock is universal: one file for Python 3.10 to 3.12 (markers split the few packages whose
# newest release differs), so the CPU images (3.11) and the CUDA images (Ubuntu's 3.10) share it.
# uv, pinned below, does the resolving; it is installed into a throwaway venv, never the project's.
set -eu
UV_VERSION=0.13.9
repo=$(cd "$(dirname "$0")/.." && pwd)
tools=${TMPDIR:-/tmp}/container-runtime-lock-uv-$UV_VERSION
if [ ! -x "$tools/bin/uv" ]; then
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet "uv==$UV_VERSION"
fi
cd "$repo"
exec "$tools/bin/uv" pip compile setup.py requirements/lock.in \
    --all-extras --universal --python-version 3.10 \
    --build-constraints requirements/build-constraints.txt \
    --custom-compile-command "sh requirements/update.sh" \
    --output-file requirements/constraints.txt --quiet "$@"
