"""The simulation's settings from SANDBOX_* variables: defaults, values, and what is refused."""

from __future__ import annotations

import pytest

from gateway.sandbox import config_from_env
from gateway.sandbox.simulation import Simulation, digit_script, from_env


def test_defaults_and_who_answers() -> None:
    simulated = from_env({})
    assert simulated == Simulation()
    assert [
        simulated.outcome(n) for n in ("+15005550010", "+15005550011", "+15005550012", "+15005550013")
    ] == [
        "busy",
        "no-answer",
        "failed",
        "machine",
    ]
    assert simulated.outcome("+14155551212") == "human"


def test_every_variable_is_read() -> None:
    env = {
        "SANDBOX_BUSY_NUMBERS": "+14155550001, +14155550002",
        "SANDBOX_NO_ANSWER_NUMBERS": "",
        "SANDBOX_FAILED_NUMBERS": "+14155550003",
        "SANDBOX_MACHINE_NUMBERS": "+14155550004",
        "SANDBOX_DIGITS": "1234#, ,9",
        "SANDBOX_RECORD_LENGTH": "2.5",
        "SANDBOX_WEBHOOK_TIMEOUT": "1",
        "SANDBOX_CALLBACK_REPEATS": "2",
        "SANDBOX_MESSAGE_CALLBACKS": "queued,sent",
        "SANDBOX_DELIVERY_RECEIPTS": "TRUE",
    }
    simulated = config_from_env(env).simulation
    assert simulated == Simulation(
        busy=frozenset({"+14155550001", "+14155550002"}),
        no_answer=frozenset(),
        failed=frozenset({"+14155550003"}),
        machine=frozenset({"+14155550004"}),
        digits=("1234#", "", "9"),
        record_length=2.5,
        webhook_timeout=1.0,
        callback_repeats=2,
        message_callbacks=frozenset({"queued", "sent"}),
        delivery_receipts=True,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SANDBOX_BUSY_NUMBERS", "4155550001"),
        ("SANDBOX_DIGITS", "12a"),
        ("SANDBOX_RECORD_LENGTH", "-1"),
        ("SANDBOX_WEBHOOK_TIMEOUT", "soon"),
        ("SANDBOX_CALLBACK_REPEATS", "0"),
        ("SANDBOX_MESSAGE_CALLBACKS", "sent,read"),
        ("SANDBOX_DELIVERY_RECEIPTS", "yes"),
    ],
)
def test_bad_values_are_refused_at_start(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        from_env({name: value})


def test_the_digit_script() -> None:
    assert digit_script("") == ()
    assert digit_script("#,*0") == ("#", "*0")
