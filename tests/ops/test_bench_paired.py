"""bench.http.paired_rounds: the portal and its bare baseline measured in short alternating rounds,
the order swapped every round, reported as medians, so a neighbour's burst that hits one round
does not move the ratio."""

from __future__ import annotations

from bench.http import paired_rounds


def _recorder(name: str, rates: list[float], calls: list[tuple[str, int]]):
    def measure(seconds: int) -> tuple[float, int]:
        calls.append((name, seconds))
        rate = rates[sum(1 for c in calls if c[0] == name) - 1]
        return rate, int(rate * seconds)

    return measure


def test_rounds_alternate_which_side_goes_first_and_share_the_seconds():
    calls: list[tuple[str, int]] = []
    paired_rounds(_recorder("portal", [100.0] * 4, calls), _recorder("bare", [400.0] * 4, calls), 8, rounds=4)
    assert [c[0] for c in calls] == ["portal", "bare", "bare", "portal"] * 2
    assert {c[1] for c in calls} == {2}  # 8 seconds a side in 4 rounds


def test_a_burst_in_one_round_does_not_move_the_median_ratio():
    calls: list[tuple[str, int]] = []
    portal = [100.0, 100.0, 30.0, 100.0, 100.0]  # the third round ran beside a neighbour's burst
    bare = [400.0, 400.0, 400.0, 400.0, 400.0]
    result = paired_rounds(_recorder("portal", portal, calls), _recorder("bare", bare, calls), 5)
    assert result["ratio"] == 0.25
    assert result["a_rps"] == 100.0 and result["b_rps"] == 400.0
    assert min(result["ratios"]) == 30.0 / 400.0  # still shown in the spread
    assert result["served"] == 430  # the portal's requests only, each round one second


def test_a_baseline_that_served_nothing_gives_a_ratio_of_zero_not_an_error():
    calls: list[tuple[str, int]] = []
    result = paired_rounds(_recorder("portal", [5.0], calls), _recorder("bare", [0.0], calls), 1, rounds=1)
    assert result["ratio"] == 0.0
