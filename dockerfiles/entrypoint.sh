#!/bin/sh
# The framework images' entry point, as SageMaker starts them: `docker run IMAGE train` or
# `docker run IMAGE serve`. Both replace this shell (exec), so the runtime is PID 1 and handles
# signals and orphans itself. Any other command runs as given (`docker run IMAGE python -V`),
# never through `sh -c`.
set -eu

if [ "$#" -eq 0 ]; then
    echo "usage: docker run IMAGE train | serve | COMMAND [ARGUMENT...]" >&2
    exit 2
fi
case "$1" in
    train | serve)
        command=$1
        shift
        exec "/opt/venv/bin/$command" "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
