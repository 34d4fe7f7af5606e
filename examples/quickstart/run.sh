#!/usr/bin/env bash
# Runs the quick-start example once under `train`, in a temporary base dir laid out like
# /opt/ml, and shows what the job left behind. Usage: examples/quickstart/run.sh [TRAIN]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
train="${1:-train}"
base="$(mktemp -d -t quickstart-job-XXXXXX)"
mkdir -p "$base/input/config" "$base/input/data/train" "$base/input/data/test" "$base/code"
cp "$here/train.py" "$base/code/"
cp "$here/data/train.csv" "$base/input/data/train/"
cp "$here/data/test.csv" "$base/input/data/test/"
cat >"$base/input/config/hyperparameters.json" <<'JSON'
{"sagemaker_program": "\"train.py\"", "sagemaker_job_name": "\"quickstart\"", "epochs": "5", "learning-rate": "0.05"}
JSON
cat >"$base/input/config/resourceconfig.json" <<'JSON'
{"current_host": "algo-1", "hosts": ["algo-1"]}
JSON
cat >"$base/input/config/inputdataconfig.json" <<'JSON'
{"train": {"TrainingInputMode": "File"}, "test": {"TrainingInputMode": "File"}}
JSON
SAGEMAKER_BASE_DIR="$base" "$train"
echo "--- job dir: $base"
ls -l "$base/output"
python3 - "$base/output/model.tar.gz" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:gz") as archive:
    print("model.tar.gz holds:", ", ".join(archive.getnames()))
PY
