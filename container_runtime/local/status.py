"""A local training job's status, with SageMaker's names (`TrainingJobStatus`)."""

from __future__ import annotations

import enum


class JobStatus(str, enum.Enum):
    """Compares equal to SageMaker's status strings and is written to records as them."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)
