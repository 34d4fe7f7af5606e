"""What a tuning job leaves behind: `describe.json` (SageMaker's description, read back from the
study), `analytics.csv` and the plots, in the tuning job's dir; and the result `fit` returns."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from container_runtime.local.describe import write_description
from container_runtime.local.tuning import records as r
from container_runtime.local.tuning.analytics import export_csv
from container_runtime.local.tuning.describe import describe_study
from container_runtime.local.tuning.plots import importances, write_plots
from container_runtime.local.tuning.ranges import ParameterRange


class TuningJobResult(NamedTuple):
    name: str
    status: str
    description: dict[str, Any]
    tuning_dir: Path

    @property
    def best_training_job(self) -> str | None:
        best = self.description.get("BestTrainingJob")
        return best["TrainingJobName"] if best else None


def write_reports(study: Any, tuning_dir: Path, ranges: Mapping[str, ParameterRange],
                  console: TextIO | None) -> TuningJobResult:
    """Describe the tuning job and write its reports; a missing optional package costs a report, not the job."""
    description = describe_study(study)
    description["TuningDir"] = str(tuning_dir)
    tuning_dir.mkdir(parents=True, exist_ok=True)
    write_description(tuning_dir / "describe.json", description)
    try:
        records = r.trial_records(study)
        export_csv(records, tuning_dir / "analytics.csv", ranges)
        objective = description["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        write_plots(records, objective["Type"], objective["MetricName"], tuning_dir, importances(study))
    except ImportError as error:
        if console is not None:
            console.write(f"  no analytics or plots: {error} (pip install 'container-runtime[tuning]')\n")
    return TuningJobResult(study.study_name, description["HyperParameterTuningJobStatus"], description, tuning_dir)


def summary(result: TuningJobResult, completion: str | None) -> str:
    """The line a tuner prints when its share of the tuning job is over."""
    best = result.description.get("BestTrainingJob")
    if best:
        objective = best["FinalHyperParameterTuningJobObjectiveMetric"]
        tail = f"; best {best['TrainingJobName']} ({objective['MetricName']} = {objective['Value']})"
    else:
        tail = "; no job reported its objective"
    return f"Tuning job {result.name} {result.status.lower()}{f' ({completion})' if completion else ''}{tail}\n"
