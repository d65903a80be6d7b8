"""The circuit breaker on a fake clock: a short, growing wait while the host stays down, a few probes
at once, and closed again by the first probe the host answers."""

from __future__ import annotations

import pytest

from gateway.errors import ServiceUnavailable
from gateway.upstream.breaker import FIRST_WAIT, PROBES, Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def opened(threshold: int = 3, cooldown: float = 30.0) -> tuple[Breaker, Clock]:
    clock = Clock()
    breaker = Breaker(threshold=threshold, cooldown=cooldown, clock=clock)
    for _ in range(threshold):
        breaker.failure(breaker.before())
    return breaker, clock


def state(breaker: Breaker) -> str:
    return breaker.state


def refused(breaker: Breaker) -> bool:
    try:
        breaker.before()
    except ServiceUnavailable:
        return True
    return False


def test_it_opens_after_the_threshold_and_half_opens_after_half_a_second() -> None:
    clock = Clock()
    breaker = Breaker(threshold=3, cooldown=30, clock=clock)
    for _ in range(2):
        breaker.failure(breaker.before())
    assert state(breaker) == "closed"
    breaker.failure(breaker.before())
    assert state(breaker) == "open" and refused(breaker)
    clock.now += FIRST_WAIT - 0.01
    assert refused(breaker)
    clock.now += 0.01
    assert state(breaker) == "half-open"


def test_half_open_lets_a_few_probes_through_at_once_and_refuses_the_rest_at_once() -> None:
    breaker, clock = opened()
    clock.now += FIRST_WAIT
    tickets = [breaker.before() for _ in range(PROBES)]
    assert PROBES == 3 and all(ticket is not None for ticket in tickets)
    assert refused(breaker)


def test_a_probe_the_host_answers_closes_it_and_the_next_outage_starts_short_again() -> None:
    breaker, clock = opened()
    for wait in (FIRST_WAIT, 2 * FIRST_WAIT):  # one failed round: the wait doubled
        clock.now += wait
        breaker.failure(breaker.before())
    clock.now += 4 * FIRST_WAIT
    breaker.success(breaker.before())
    assert state(breaker) == "closed"
    assert breaker.before() is None  # no probe: every call goes through
    for _ in range(3):
        breaker.failure(breaker.before())
    clock.now += FIRST_WAIT
    assert state(breaker) == "half-open"


def test_each_failed_round_doubles_the_wait_up_to_the_cooldown() -> None:
    breaker, clock = opened(cooldown=3.0)
    waits = []
    for _ in range(5):
        waits.append(breaker.wait)
        clock.now += breaker.wait - 0.001
        assert refused(breaker)
        clock.now += 0.001
        breaker.failure(breaker.before())
    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_the_first_wait_is_never_longer_than_the_cooldown() -> None:
    breaker, clock = opened(cooldown=0.2)
    clock.now += 0.2
    assert state(breaker) == "half-open"


def test_one_round_fails_once_however_many_of_its_probes_fail() -> None:
    breaker, clock = opened()
    clock.now += FIRST_WAIT
    tickets = [breaker.before() for _ in range(PROBES)]
    for ticket in tickets:
        breaker.failure(ticket)
    assert breaker.wait == 2 * FIRST_WAIT  # not 8 times


def test_a_call_from_before_the_opening_does_not_prolong_it() -> None:
    clock = Clock()
    breaker = Breaker(threshold=2, cooldown=30, clock=clock)
    late = breaker.before()  # in flight while two others fail
    breaker.failure(breaker.before())
    breaker.failure(breaker.before())
    clock.now += FIRST_WAIT - 0.1
    breaker.failure(late)
    clock.now += 0.1
    assert state(breaker) == "half-open"


def test_a_probe_that_never_reached_the_host_frees_its_slot() -> None:
    breaker, clock = opened()
    clock.now += FIRST_WAIT
    tickets = [breaker.before() for _ in range(PROBES)]
    assert refused(breaker)
    breaker.abandon(tickets[0])
    assert not refused(breaker)
    assert state(breaker) == "half-open" and breaker.wait == FIRST_WAIT


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_a_probe_of_an_earlier_round_moves_nothing_but_a_success(outcome: str) -> None:
    breaker, clock = opened()
    clock.now += FIRST_WAIT
    stale = breaker.before()
    breaker.failure(breaker.before())  # the round fails: open for 1 s
    getattr(breaker, outcome)(stale)
    if outcome == "success":
        assert state(breaker) == "closed"  # the host answered after all
    else:
        assert breaker.wait == 2 * FIRST_WAIT and breaker.state == "open"
