"""Whether combining requests into one model call pays, learnt from the model's own calls.

Batching assumes a call on n rows costs much less than n calls on one row. That holds for most
models (TensorFlow's fixed cost per call is about 1 ms here, a row 0.01 ms) but not for all: with
the OpenBLAS that numpy 1.26 bundles, on this development machine a 784-1000-1000 float32 MLP
takes 0.19 ms for 1 row and 1.45 ms for 2 to 8 rows (a matrix-vector product against a slow
small matrix-matrix kernel), so combining 4 requests costs twice as much as running them one by
one. `CallCosts` keeps a moving average of what calls cost by their row count (in power-of-two
bands) and answers, for a group of requests, whether to run them as one call or one by one.

It learns as it goes: a band with no recent measurement is measured (a group runs combined when
the combined band is unknown or stale; one request of a group runs alone when the one-by-one
bands are), so the choice follows the model and the machine as they change, at the price of
one differently-run call now and then (every `RECHECK_CALLS` decisions for a band).
"""

from __future__ import annotations

TOGETHER, APART, PROBE = "together", "apart", "probe"

#: How many decisions may rest on a band's measurement before it is measured again.
RECHECK_CALLS = 64
#: Weight of the newest call in a band's moving average.
SMOOTHING = 0.2


def band(rows: int) -> int:
    """1 row; 2-3; 4-7; 8-15; ..."""
    return max(1, rows).bit_length()


class CallCosts:
    """Only the model's thread uses it."""

    def __init__(self) -> None:
        self._seconds: dict[int, float] = {}
        self._measured_at: dict[int, int] = {}
        self._decisions = 0

    def observe(self, rows: int, seconds: float) -> None:
        """A call on `rows` rows took `seconds`."""
        key = band(rows)
        old = self._seconds.get(key)
        self._seconds[key] = seconds if old is None else old + SMOOTHING * (seconds - old)
        self._measured_at[key] = self._decisions

    def plan(self, row_counts: list[int]) -> str:
        """TOGETHER (one call), APART (one call per request) or PROBE (the first request alone, to
        measure its band, and the rest together) for requests of these row counts."""
        self._decisions += 1
        together = self._estimate(sum(row_counts))
        if together is None:
            return TOGETHER
        apart = 0.0
        for rows in row_counts:
            alone = self._estimate(rows)
            if alone is None:
                return PROBE
            apart += alone
        return TOGETHER if together <= apart else APART

    def _estimate(self, rows: int) -> float | None:
        """A band's average, or None when it was never measured or is due for measuring again."""
        key = band(rows)
        if key not in self._seconds or self._decisions - self._measured_at[key] > RECHECK_CALLS:
            return None
        return self._seconds[key]
