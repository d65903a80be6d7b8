"""Seed data by name (``--seed calls=N,conferences=N`` / ``SANDBOX_SEED``) and the call clock settings."""

from __future__ import annotations

import pytest

from gateway.__main__ import main
from gateway.sandbox import config_from_env
from gateway.sandbox.seed import SEEDERS, parse


def test_parse_names_and_counts() -> None:
    assert parse("calls=2000, conferences=10") == {"calls": 2000, "conferences": 10}
    assert parse("") == {}
    assert set(SEEDERS) >= {"calls", "conferences"}


@pytest.mark.parametrize("spec", ["calls", "calls=many", "calls=-1", "bogus=1"])
def test_parse_refuses(spec: str) -> None:
    with pytest.raises(ValueError):
        parse(spec)


def test_environment_and_flags() -> None:
    env = {"SANDBOX_SEED": "calls=5", "SANDBOX_CALL_STEP": "0.5", "SANDBOX_CALL_LENGTH": "3"}
    config = config_from_env(env)
    assert (config.seed, config.call_step, config.call_length) == ({"calls": 5}, 0.5, 3.0)
    flagged = config_from_env(env, seed="conferences=2", call_step=1.0)
    assert (flagged.seed, flagged.call_step, flagged.call_length) == ({"conferences": 2}, 1.0, 3.0)
    defaults = config_from_env({})
    assert (defaults.seed, defaults.call_step, defaults.call_length) == ({}, 2.0, 20.0)
    with pytest.raises(ValueError, match="SANDBOX_CALL_STEP"):
        config_from_env({"SANDBOX_CALL_STEP": "soon"})
    with pytest.raises(ValueError, match="SANDBOX_CALL_LENGTH"):
        config_from_env({}, call_length=-1.0)


def test_the_command_line_refuses_an_unknown_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--seed", "bogus=1"]) == 2
    assert "unknown seed 'bogus'" in capsys.readouterr().err
