"""Writes what the process sees (argv, cwd, environment) to $SM_MODEL_DIR/report.json."""

import json
import os
import sys

report = {"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ), "sys_path": sys.path}
os.makedirs(os.environ["SM_MODEL_DIR"], exist_ok=True)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "report.json"), "w") as file:
    json.dump(report, file)
print("report written")
