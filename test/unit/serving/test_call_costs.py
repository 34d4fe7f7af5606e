"""The batcher's cost model: combine requests only when one call costs less than one per request."""

from __future__ import annotations

from container_runtime.serving.call_costs import APART, PROBE, RECHECK_CALLS, TOGETHER, CallCosts, band


def test_bands_are_powers_of_two() -> None:
    assert [band(rows) for rows in (1, 2, 3, 4, 7, 8, 64)] == [1, 2, 2, 3, 3, 4, 7]


def test_it_measures_what_it_does_not_know_then_picks_the_cheaper() -> None:
    costs = CallCosts()
    assert costs.plan([1, 1, 1, 1]) == TOGETHER  # nothing known: measure the combined call
    costs.observe(4, 0.004)
    assert costs.plan([1, 1, 1, 1]) == PROBE  # one request alone measures a single row
    costs.observe(1, 0.0005)
    assert costs.plan([1, 1, 1, 1]) == APART  # 4 x 0.5 ms < 4 ms
    costs.observe(4, 0.001)
    costs.observe(4, 0.001)
    costs.observe(4, 0.001)
    costs.observe(4, 0.001)
    costs.observe(4, 0.001)
    costs.observe(4, 0.001)
    assert costs.plan([1, 1, 1, 1]) == TOGETHER  # the average moved below 2 ms


def test_a_stale_measurement_is_taken_again() -> None:
    costs = CallCosts()
    costs.observe(8, 0.001)
    costs.observe(1, 0.001)
    assert costs.plan([1] * 8) == TOGETHER
    for _ in range(RECHECK_CALLS):
        costs.plan([1] * 8)
    costs.observe(8, 0.001)  # the combined calls keep their band fresh, the single-row band ages
    assert costs.plan([1] * 8) == PROBE
