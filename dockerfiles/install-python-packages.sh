#!/bin/sh
# Installs the runtime with one framework's extra into /opt/venv, in two steps so that Docker's
# layer cache keeps the big dependencies (TensorFlow, CUDA wheels) when only our code changes:
#
#   install-python-packages.sh dependencies DIR   DIR holds setup.py only: everything it depends on
#   install-python-packages.sh package DIR        DIR holds the sources: the package itself, then DIR goes
#
# Settings come from the build arguments: FRAMEWORK (chainer or tensorflow), EXTRAS (more extras,
# comma-separated) and GPU_PACKAGES (pip requirements, space-separated, e.g. cupy-cuda12x).
set -eu
set -f  # GPU_PACKAGES is split into words, never expanded as file names

case "${FRAMEWORK:-}" in
    chainer | tensorflow) ;;
    *) echo "install-python-packages.sh: FRAMEWORK must be chainer or tensorflow, not '${FRAMEWORK:-}'" >&2; exit 2 ;;
esac
case "${EXTRAS:-}" in
    *[!a-z0-9,_-]*) echo "install-python-packages.sh: EXTRAS must be comma-separated extra names, not '$EXTRAS'" >&2; exit 2 ;;
esac
if [ "$#" -ne 2 ]; then
    echo "usage: install-python-packages.sh dependencies|package DIR" >&2
    exit 2
fi

# The system's bundle, with the builder's EXTRA_CA_CERTS (see install-system.sh).
export PIP_CERT=/etc/ssl/certs/ca-certificates.crt

# The lock (requirements/constraints.txt, copied in by the Dockerfile): the versions CI tested.
CONSTRAINTS=/usr/local/lib/container-runtime/constraints.txt

pip_install() {
    # No build isolation: Chainer's source package builds only with the venv's setuptools<70.
    /opt/venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check --no-build-isolation -c "$CONSTRAINTS" "$@"
}

step=$1
source_dir=$2
case "$step" in
    dependencies)
        # setup.py reads README.md for its long description; the real one arrives with the sources.
        [ -f "$source_dir/README.md" ] || : >"$source_dir/README.md"
        # shellcheck disable=SC2086  # a list of requirements
        pip_install "${source_dir}[${FRAMEWORK}${EXTRAS:+,$EXTRAS}]" ${GPU_PACKAGES:-}
        /opt/venv/bin/python -m pip uninstall --yes --disable-pip-version-check container-runtime
        rm -rf "$source_dir"
        ;;
    package)
        pip_install --no-deps "$source_dir"
        rm -rf "$source_dir"
        /opt/venv/bin/python -m pip check --disable-pip-version-check
        ;;
    *)
        echo "install-python-packages.sh: unknown step '$step' (dependencies or package)" >&2
        exit 2
        ;;
esac
