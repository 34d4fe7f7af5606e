#!/bin/sh
# The framework images' entry point, as SageMaker starts them: `docker run IMAGE train` or
# `docker run IMAGE serve`. With no command it runs `train`: SageMaker SDK v3's ModelTrainer
# without `source_code` starts the image with none. `train` and `serve` replace this shell
# (exec), so the runtime is PID 1 and handles signals and orphans itself. Any other command runs
# as given (`docker run IMAGE python -V`), never through `sh -c`.
set -eu

if [ "$#" -eq 0 ]; then
    exec /opt/venv/bin/train
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
