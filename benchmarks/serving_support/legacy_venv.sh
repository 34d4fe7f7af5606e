#!/usr/bin/env bash
# Builds the venv for stack (c) of benchmarks/serving.py: sagemaker-containers 2.8.6.post2 serving
# (nginx -> gunicorn -k gevent -> Flask) on Python 3.11. Idempotent: a stamp file records the
# requirement set, and a venv whose stamp matches is left alone.
#
#   benchmarks/serving_support/legacy_venv.sh            # venv in $LEGACY_SERVING_VENV or /tmp/legacy-serving-venv
#   LEGACY_SERVING_VENV=/some/dir PYTHON=python3.11 benchmarks/serving_support/legacy_venv.sh
#
# What makes 2.8.6.post2 (last released 2020, written for 2.7/3.6) import on 3.11:
#   * sitecustomize.py in the venv's site-packages aliases collections.Mapping & co. from
#     collections.abc (sagemaker_containers._mapping subclasses collections.Mapping);
#   * pins for the Flask 1.1.1 it requires: Werkzeug<2.1, Jinja2<3.1, itsdangerous<2.1,
#     MarkupSafe<2.1; protobuf<3.21 for its generated record_pb2.py; numpy<2;
#   * gevent and gunicorn releases with Python 3.11 support (pinned below).
# The venv also gets a wheelhouse with setuptools and wheel: at start-up the package's server
# runs `pip install .` on the user code dir; serving.py points pip at that wheelhouse with
# PIP_NO_INDEX so serving needs no network.
set -euo pipefail

VENV="${LEGACY_SERVING_VENV:-/tmp/legacy-serving-venv}"
PYTHON="${PYTHON:-python3}"

REQUIREMENTS=(
  "sagemaker-containers==2.8.6.post2"
  "protobuf<3.21"
  "Werkzeug<2.1"
  "Jinja2<3.1"
  "itsdangerous<2.1"
  "MarkupSafe<2.1"
  "numpy<2"
  "gevent==24.11.1"
  "gunicorn==23.0.0"
)
STAMP_TEXT="$("$PYTHON" -c 'import sys; print(sys.version.split()[0])') ${REQUIREMENTS[*]}"
STAMP="$VENV/.legacy-serving-stamp"

if ! command -v nginx >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "nginx not on PATH: installing it with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  else
    echo "nginx is not on PATH; install it (Debian: apt-get install -y nginx)" >&2
    exit 2
  fi
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] && [ -x "$VENV/bin/serve" ]; then
  echo "legacy serving venv up to date: $VENV"
  exit 0
fi

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cat > "$SITE/sitecustomize.py" <<'PY'
# Written by benchmarks/serving_support/legacy_venv.sh: the ABC aliases that Python 3.10 removed
# from `collections`, which sagemaker-containers 2.8.6.post2 still uses.
import collections
import collections.abc

for _name in (
    "Awaitable", "AsyncIterable", "AsyncIterator", "Callable", "Collection", "Container",
    "Coroutine", "Generator", "Hashable", "ItemsView", "Iterable", "Iterator", "KeysView",
    "Mapping", "MappingView", "MutableMapping", "MutableSequence", "MutableSet", "Reversible",
    "Sequence", "Set", "Sized", "ValuesView",
):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))
del _name
PY

"$VENV/bin/python" -m pip install --quiet "${REQUIREMENTS[@]}"
mkdir -p "$VENV/wheelhouse"
"$VENV/bin/python" -m pip download --quiet --only-binary=:all: --dest "$VENV/wheelhouse" setuptools wheel

# Smoke test: the serving modules import and the Flask stack is the pinned one.
"$VENV/bin/python" - <<'PY'
import flask, gevent, gunicorn, numpy, werkzeug
from sagemaker_containers.beta.framework import encoders, server, transformer, worker  # noqa: F401
print("sagemaker-containers serving imports OK: flask", flask.__version__, "werkzeug", werkzeug.__version__,
      "gevent", gevent.__version__, "gunicorn", gunicorn.__version__, "numpy", numpy.__version__)
PY
echo "$STAMP_TEXT" > "$STAMP"
echo "legacy serving venv ready: $VENV"
