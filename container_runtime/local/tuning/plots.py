"""Pictures of a tuning job as PNG files, for a run with no notebook or dashboard at hand.

`optimization_history.png` (each finished job's objective in completion order and the best so
far), `parallel_coordinates.png` (which parameter values the good jobs share) and
`parameter_importance.png` (Optuna's fANOVA importances). Figures are drawn with matplotlib's Agg
canvas directly, never through pyplot, so nothing leaks into a caller's pyplot state or needs a
display; a plot with nothing to show is skipped rather than drawn empty.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from container_runtime.local.status import JobStatus
from container_runtime.local.tuning.records import TrialRecord, is_better

logger = logging.getLogger(__name__)

HISTORY = "optimization_history.png"
PARALLEL = "parallel_coordinates.png"
IMPORTANCE = "parameter_importance.png"
FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED)
MARKERS = {
    JobStatus.COMPLETED: ("o", "tab:blue"), JobStatus.STOPPED: ("s", "tab:orange"), JobStatus.FAILED: ("x", "tab:red"),
}


def _figure(width: float, height: float) -> Any:
    """A figure bound to an Agg canvas (imported here so importing this module costs nothing)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: Path) -> Path:
    figure.savefig(path, format="png")
    return path


def _when(text: str | None) -> float:
    """Seconds since the epoch for ordering; unknown times sort last."""
    if not text:
        return math.inf
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return math.inf
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _succeeded(records: Sequence[TrialRecord]) -> list[TrialRecord]:
    """Jobs whose objective counts, the same rule `best_record` uses."""
    return [r for r in records if r.objective_status == "Succeeded" and _number(r.final_value) is not None]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def write_plots(
    records: Sequence[TrialRecord],
    objective_type: str,
    metric_name: str,
    directory: Path,
    importances: Mapping[str, float] | None,
) -> list[Path]:
    """Write every plot the data supports into `directory`; returns the files written, possibly none."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    drawn = {
        HISTORY: _history(records, objective_type, metric_name, directory / HISTORY),
        PARALLEL: _parallel(records, metric_name, directory / PARALLEL),
        IMPORTANCE: _importance(importances or {}, metric_name, directory / IMPORTANCE),
    }
    written = [directory / name for name, done in drawn.items() if done]
    return written


def _history(records: Sequence[TrialRecord], objective_type: str, metric_name: str, path: Path) -> bool:
    if not _succeeded(records):
        return False
    finished = [r for r in records if r.job_status in FINISHED and _number(r.final_value) is not None]
    finished.sort(key=lambda r: (_when(r.end_time), r.number))
    figure = _figure(8, 4.5)
    axes = figure.add_subplot()
    for status, (marker, colour) in MARKERS.items():
        points = [(i, _number(r.final_value)) for i, r in enumerate(finished, 1) if r.job_status == status]
        if points:
            xs, ys = zip(*points, strict=True)
            axes.scatter(xs, ys, marker=marker, color=colour, label=status, zorder=3)
    best: float | None = None
    steps_x: list[int] = []
    steps_y: list[float] = []
    for index, record in enumerate(finished, 1):
        value = _number(record.final_value)
        if record.objective_status == "Succeeded" and value is not None and is_better(value, best, objective_type):
            best = value
        if best is not None:
            steps_x.append(index)
            steps_y.append(best)
    axes.step(steps_x, steps_y, where="post", color="tab:green", label="best so far", zorder=2)
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("training job (completion order)")
    axes.set_ylabel(metric_name)
    axes.set_title(f"Optimization history ({objective_type})")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    figure.tight_layout()
    _save(figure, path)
    return True


def _axis(values: list[Any]) -> tuple[list[float], list[float], list[str]]:
    """One parameter's values on [0, 1], with tick positions and labels: numbers linearly, others by category."""
    present = [v for v in values if v is not None]
    numbers = [_number(v) for v in present]
    if present and all(n is not None for n in numbers):
        low = min(n for n in numbers if n is not None)
        high = max(n for n in numbers if n is not None)
        span = high - low

        def scale(v: Any) -> float:
            number = _number(v)
            if number is None:
                return math.nan
            return 0.5 if span == 0 else (number - low) / span

        ticks = [0.5] if span == 0 else [0.0, 1.0]
        labels = [f"{low:.4g}"] if span == 0 else [f"{low:.4g}", f"{high:.4g}"]
        return [scale(v) for v in values], ticks, labels
    categories = sorted({str(v) for v in present})
    count = len(categories)
    position = {c: (0.5 if count == 1 else i / (count - 1)) for i, c in enumerate(categories)}
    scaled = [math.nan if v is None else position[str(v)] for v in values]
    return scaled, list(position.values()), categories


def _parallel(records: Sequence[TrialRecord], metric_name: str, path: Path) -> bool:
    jobs = _succeeded(records)
    names = sorted({name for r in jobs for name in r.tuned})
    if not jobs or not names:
        return False
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    objective = [value for value in (_number(r.final_value) for r in jobs) if value is not None]
    columns = [_axis(objective), *(_axis([r.tuned.get(name) for r in jobs]) for name in names)]
    labels = [metric_name, *names]
    low, high = min(objective), max(objective)
    norm = Normalize(vmin=low, vmax=high if high > low else low + 1)
    cmap = colormaps["viridis"]
    figure = _figure(max(6.0, 1.6 * len(labels) + 2), 5)
    axes = figure.add_subplot()
    xs = list(range(len(labels)))
    for row, value in enumerate(objective):
        axes.plot(xs, [column[0][row] for column in columns], color=cmap(norm(value)), alpha=0.7, linewidth=1.2)
    for x, (_, ticks, tick_labels) in zip(xs, columns, strict=True):
        axes.axvline(x, color="0.6", linewidth=0.8, zorder=0)
        for tick, text in zip(ticks, tick_labels, strict=True):
            axes.annotate(text[:18], (x, tick), xytext=(3, 0), textcoords="offset points", fontsize=7, va="center")
    axes.set_xticks(xs, [label[:24] for label in labels], rotation=20, ha="right")
    axes.set_yticks([0.0, 0.5, 1.0], ["min", "", "max"])
    axes.set_ylim(-0.05, 1.05)
    axes.set_xlim(-0.2, len(labels) - 0.5)
    axes.set_title(f"Parallel coordinates ({len(jobs)} jobs)")
    figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=metric_name)
    figure.tight_layout()
    _save(figure, path)
    return True


def _importance(importances: Mapping[str, float], metric_name: str, path: Path) -> bool:
    if len(importances) < 2:
        return False
    ranked = sorted(importances.items(), key=lambda item: item[1])  # barh draws bottom-up: most important on top
    figure = _figure(7, 1.2 + 0.4 * len(ranked))
    axes = figure.add_subplot()
    bars = axes.barh([name[:30] for name, _ in ranked], [value for _, value in ranked], color="tab:blue")
    axes.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
    axes.set_xlabel(f"importance for {metric_name}")
    axes.set_title("Hyperparameter importance (fANOVA)")
    axes.set_xlim(0, max(1e-9, max(value for _, value in ranked)) * 1.15)
    figure.tight_layout()
    _save(figure, path)
    return True


def importances(study: Any) -> dict[str, float] | None:
    """Optuna's parameter importances over the complete trials, or None when they cannot be told.

    With fewer than two complete trials there is nothing to compare; Optuna also raises when the
    trials share no parameter or the evaluator's dependencies are missing, which must not fail a
    tuning job that has otherwise finished.
    """
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return None
    try:
        result = optuna.importance.get_param_importances(study)
    except Exception as error:  # any evaluator failure means "no importances", never a failed job
        logger.debug("no parameter importances: %s", error)
        return None
    return {str(name): float(value) for name, value in result.items()} or None
