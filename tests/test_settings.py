from __future__ import annotations

import re

import pytest

from gateway.cli import build_parser
from gateway.edge.app import settings_to_env
from gateway.settings import SPECS, ConfigError, Secret, Settings
from tests.conftest import ROOT

PAIR = "AC" + "1" * 32 + ":tok1"


def test_defaults_match_the_dataclass() -> None:
    assert Settings.load({}) == Settings()


def test_environment_then_flags() -> None:
    env = {"GATEWAY_PORT": "9000", "GATEWAY_UPSTREAM": "http://up.test/", "GATEWAY_SANDBOX": "yes"}
    settings = Settings.load(env, {"port": "9100"})
    assert settings.port == 9100
    assert settings.upstream == "http://up.test"
    assert settings.sandbox is True


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GATEWAY_PORT": "http"}, "GATEWAY_PORT"),
        ({"GATEWAY_PORT": "70000"}, "GATEWAY_PORT"),
        ({"GATEWAY_UPSTREAM": "ftp://x"}, "GATEWAY_UPSTREAM"),
        ({"GATEWAY_UPSTREAM": "https://user:pw@x"}, "GATEWAY_UPSTREAM"),
        ({"GATEWAY_READ_TIMEOUT": "0"}, "GATEWAY_READ_TIMEOUT"),
        ({"GATEWAY_PHONE_REGION": "XX"}, "GATEWAY_PHONE_REGION"),
        ({"GATEWAY_LOG_FORMAT": "yaml"}, "GATEWAY_LOG_FORMAT"),
        ({"GATEWAY_SHADOW_SAMPLE": "2"}, "GATEWAY_SHADOW_SAMPLE"),
        ({"GATEWAY_CLIENT_CREDENTIALS": "nope"}, "GATEWAY_CLIENT_CREDENTIALS"),
        ({"GATEWAY_UPSTREAM_ACCOUNT_SID": "AC" + "1" * 32}, "GATEWAY_UPSTREAM_AUTH_TOKEN"),
        (
            {"GATEWAY_UPSTREAM_ACCOUNT_SID": "AC" + "1" * 32, "GATEWAY_UPSTREAM_AUTH_TOKEN": "t"},
            "GATEWAY_CLIENT_CREDENTIALS",
        ),
        ({"GATEWAY_READ_TIMEOUT": "90"}, "GATEWAY_TOTAL_TIMEOUT"),
    ],
)
def test_invalid_configuration_names_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(env)
    assert caught.value.env == named
    assert named in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_flag_is_named_as_a_flag() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load({}, {"port": "x"})
    assert caught.value.env == "--port"


def test_secrets_print_as_stars() -> None:
    settings = Settings.load(
        {
            "GATEWAY_UPSTREAM_ACCOUNT_SID": "AC" + "2" * 32,
            "GATEWAY_UPSTREAM_AUTH_TOKEN": "supersecret",
            "GATEWAY_CLIENT_CREDENTIALS": PAIR,
        }
    )
    text = repr(settings) + str(settings) + f"{settings.upstream_auth_token}"
    assert "supersecret" not in text and "tok1" not in text
    assert "****" in text
    assert settings.upstream_auth_token == Secret("supersecret")
    assert settings.client_credentials[0][1].get() == "tok1"


def test_settings_survive_the_trip_through_worker_environment() -> None:
    settings = Settings.load(
        {
            "GATEWAY_UPSTREAM_ACCOUNT_SID": "AC" + "2" * 32,
            "GATEWAY_UPSTREAM_AUTH_TOKEN": "supersecret",
            "GATEWAY_CLIENT_CREDENTIALS": PAIR,
            "GATEWAY_LEGACY_UPSTREAM": "https://legacy.test",
            "GATEWAY_RETRIES": "0",
        }
    )
    assert Settings.load(settings_to_env(settings)) == settings


def test_every_setting_has_a_flag_and_a_readme_row() -> None:
    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    serve = parser._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    flags = {option for action in serve._actions for option in action.option_strings}
    for spec in SPECS:
        assert spec.flag in flags, spec.flag
        assert re.search(rf"\| `{spec.env}` \| `{re.escape(spec.flag)}`", readme), spec.env


def test_subaccounts_are_listed_before_the_token_which_stays_free_text() -> None:
    sub = "AC" + "3" * 32
    settings = Settings.load({"GATEWAY_CLIENT_CREDENTIALS": f"{PAIR}, AC{'2' * 32}+{sub}:t:o+k|en"})
    plain, parent = settings.client_credentials
    assert (plain.sid, plain.token.get(), plain.accounts) == ("AC" + "1" * 32, "tok1", ("AC" + "1" * 32,))
    assert (parent.sid, parent.token.get(), parent.accounts) == (
        "AC" + "2" * 32,
        "t:o+k|en",
        ("AC" + "2" * 32, sub),
    )
    assert Settings.load(settings_to_env(settings)) == settings


def test_every_value_valid_before_subaccounts_keeps_its_meaning() -> None:
    example = "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:a-token-only-the-legacy-app-knows"  # deploy/kubernetes
    (credential,) = Settings.load({"GATEWAY_CLIENT_CREDENTIALS": example}).client_credentials
    assert (credential.sid, credential.accounts) == ("AC" + "x" * 32, ("AC" + "x" * 32,))
    assert credential.token.get() == "a-token-only-the-legacy-app-knows"


@pytest.mark.parametrize(
    "value",
    [
        f"{PAIR},nope",
        f"{PAIR},AC{'2' * 32}",
        f"{PAIR},AC{'2' * 32}:",
        f"{PAIR},AC{'2' * 32}+:secret-two",
        f"{PAIR},AC{'2' * 32}+ACnot-a-sid:secret-two",
        f"{PAIR},PN{'2' * 32}:secret-two",
    ],
)
def test_a_malformed_allow_list_never_prints_its_tokens(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load({"GATEWAY_CLIENT_CREDENTIALS": value})
    message = str(caught.value)
    assert "tok1" not in message and "secret-two" not in message and "nope" not in message
    assert "entry 2" in message and "GATEWAY_CLIENT_CREDENTIALS" in message


@pytest.mark.parametrize(
    "env",
    [
        {"GATEWAY_UPSTREAM": "https://user:hunter2@api.test"},
        {"GATEWAY_LEGACY_UPSTREAM": "https://user:hunter2@legacy.test/path"},
        {"GATEWAY_SHADOW_LEGACY_UPSTREAM": "http://hunter2@legacy.test"},
    ],
)
def test_a_url_with_credentials_is_refused_without_printing_them(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(env)
    assert "hunter2" not in str(caught.value)
    assert "credentials" in str(caught.value)


def test_secrets_stay_hidden_in_the_settings_repr() -> None:
    settings = Settings.load(
        {
            "GATEWAY_UPSTREAM_ACCOUNT_SID": "AC" + "2" * 32,
            "GATEWAY_UPSTREAM_AUTH_TOKEN": "supersecret",
            "GATEWAY_CLIENT_CREDENTIALS": f"AC{'2' * 32}+AC{'3' * 32}:tok2",
        }
    )
    text = repr(settings) + str(settings.client_credentials) + repr(settings.client_credentials[0])
    assert "supersecret" not in text and "tok2" not in text


def test_plain_pairs_given_to_settings_bind_to_their_own_account() -> None:
    settings = Settings(client_credentials=(("AC" + "1" * 32, Secret("tok1")),))  # type: ignore[arg-type]
    (credential,) = settings.client_credentials
    assert credential == ("AC" + "1" * 32, Secret("tok1"), ("AC" + "1" * 32,))
    assert settings == Settings.load({"GATEWAY_CLIENT_CREDENTIALS": PAIR})
