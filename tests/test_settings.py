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


CALLBACKS = {
    "GATEWAY_PUBLIC_URL": "https://gw.example.com/",
    "GATEWAY_HOOK_KEYS": "first-key-0123456789, older-key-0123456789",
    "GATEWAY_CALLBACK_ACCOUNTS": PAIR + ",AC" + "2" * 32 + ":tok:2",
    "GATEWAY_CALLBACK_EXTRA": "KEEP",
    "GATEWAY_CALLBACK_TIMEOUT": "12.5",
    "GATEWAY_CALLBACK_HOSTS": "app.internal, App.Corp.Example., 10.1.2.3/16, [::1]",
}


def test_callback_settings_read_and_survive_the_worker_environment() -> None:
    settings = Settings.load(CALLBACKS)
    assert settings.public_url == "https://gw.example.com"
    assert [key.get() for key in settings.hook_keys] == ["first-key-0123456789", "older-key-0123456789"]
    assert [(c.sid, c.token.get()) for c in settings.callback_accounts] == [
        ("AC" + "1" * 32, "tok1"),
        ("AC" + "2" * 32, "tok:2"),
    ]
    assert settings.callback_extra == "keep"
    assert settings.callback_timeout == 12.5
    assert settings.callback_hosts == ("app.internal", "app.corp.example", "10.1.0.0/16", "::1/128")
    assert "first-key" not in repr(settings) and "tok:2" not in repr(settings)
    assert Settings.load(settings_to_env(settings)) == settings


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"GATEWAY_CALLBACK_TIMEOUT": "15"}, "GATEWAY_CALLBACK_TIMEOUT"),
        ({"GATEWAY_HOOK_KEYS": ""}, "GATEWAY_HOOK_KEYS"),
        ({"GATEWAY_HOOK_KEYS": "short-secret"}, "GATEWAY_HOOK_KEYS"),
        ({"GATEWAY_CALLBACK_ACCOUNTS": f"AC{'1' * 32}+AC{'2' * 32}:tok-three"}, "GATEWAY_CALLBACK_ACCOUNTS"),
        ({"GATEWAY_CALLBACK_HOSTS": "http://app.internal/"}, "GATEWAY_CALLBACK_HOSTS"),
        ({"GATEWAY_CALLBACK_HOSTS": "*.corp.example"}, "GATEWAY_CALLBACK_HOSTS"),
        ({"GATEWAY_PUBLIC_URL": "https://user:pw@gw.example.com"}, "GATEWAY_PUBLIC_URL"),
        ({"GATEWAY_CALLBACK_EXTRA": "some"}, "GATEWAY_CALLBACK_EXTRA"),
    ],
)
def test_bad_callback_settings_are_named_without_their_secrets(changes: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load({**CALLBACKS, **changes})
    assert caught.value.env == named
    assert "short-secret" not in str(caught.value) and "tok-three" not in str(caught.value)


def test_the_sandbox_needs_no_hook_key_for_a_public_url() -> None:
    settings = Settings.load({"GATEWAY_PUBLIC_URL": "http://127.0.0.1:8080", "GATEWAY_SANDBOX": "true"})
    assert settings.hook_keys == ()
