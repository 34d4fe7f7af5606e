"""Watching a running trial: each objective value its log lines carry is reported to the study,
and may end the job early (Hyperband's pruner, or `Auto` early stopping against its peers).

The callback runs in the trial's worker thread; every study call goes under the loop's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from container_runtime.local.metrics import MetricCollector
from container_runtime.local.tuning.config import TuningConfig
from container_runtime.local.tuning.early_stopping import should_stop
from container_runtime.local.tuning.trials import Running

LineCallback = Callable[[str, str, float], None]
#: The objective series of every other job at hand (finished or running), for early stopping.
PeerSeries = Callable[[Running], Sequence[Sequence[float]]]


def watcher(running: Running, config: TuningConfig, lock: threading.RLock, peers: PeerSeries) -> LineCallback:
    """The `JobControl.on_line` callback for `running`."""
    objective = config.objective
    collector = MetricCollector([d for d in config.definitions if d.name == objective.metric_name])

    def on_line(host: str, line: str, now: float) -> None:
        for _, value in collector.feed(line, now):
            running.values.append(value)
            step = len(running.values)
            with lock:
                try:
                    running.trial.report(value, step)
                except Exception:  # noqa: BLE001,S110 - a repeated step from another host: keep the first
                    pass
                if config.strategy == "Hyperband" and running.trial.should_prune():
                    running.control.stop(f"Hyperband stopped it at step {step}")
                    return
            if config.early_stopping_type == "Auto":
                reason = should_stop(objective, running.values, peers(running),
                                     warmup_steps=config.early_stopping_warmup_steps,
                                     min_jobs=config.early_stopping_min_jobs)
                if reason is not None:
                    running.control.stop(reason)

    return on_line
