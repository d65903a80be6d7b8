from __future__ import annotations

import base64

import pytest

from gateway.hooks.urls import KINDS, MAX_TOKEN, Hook, HookKeys, Kind, is_hook_url

BASE = "https://gw.example.com/legacy"
HOOK = Hook(
    kind="gather",
    account="AC" + "a" * 32,
    url="https://user:secret@app.example.com/menu.php?x=1",
    method="GET",
    extra=(("if_machine", "Hangup"), ("call_url", "https://app.example.com/first")),
)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_round_trip_of_every_kind() -> None:
    keys = HookKeys.generate()
    for kind in Kind:
        hook = Hook(kind=kind.value, account="AC1", url="http://app.example.com/x", extra=(("a", "b"),))
        url = keys.mint(BASE, hook)
        assert url.startswith(f"{BASE}/hooks/{kind.value}/")
        assert keys.open(url.removeprefix("https://gw.example.com")) == hook


def test_kinds_are_the_twelve_callbacks() -> None:
    voice = ["voice", "voice-fallback", "status", "gather", "record", "dial", "transcribe", "redirect"]
    sms = ["sms", "sms-fallback", "sms-status", "sms-action"]
    assert sorted(KINDS) == sorted([*voice, *sms])


def test_token_is_url_safe_and_hides_the_app_url_and_its_credentials() -> None:
    url = HookKeys(["k1"]).mint(BASE, HOOK)
    token = token_of(url)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for secret in (b"secret", b"user", b"app.example.com", b"menu.php"):
        assert secret not in decoded


def test_query_is_ignored_and_base_path_may_be_anything() -> None:
    keys = HookKeys(["k1"])
    url = keys.mint(BASE, HOOK)
    path = url.removeprefix("https://gw.example.com")
    assert keys.open(path + "?CallSid=CA1&Digits=1") == HOOK
    assert keys.open("/other/prefix/hooks/gather/" + token_of(url)) == HOOK


def test_rotation_first_key_mints_every_key_opens() -> None:
    old, new = HookKeys(["old"]), HookKeys(["new", "old"])
    assert new.open(old.mint(BASE, HOOK)) == HOOK
    assert HookKeys(["new"]).open(new.mint(BASE, HOOK)) == HOOK
    assert HookKeys(["old"]).open(new.mint(BASE, HOOK)) is None


def test_unknown_key_opens_nothing() -> None:
    assert HookKeys(["other"]).open(HookKeys(["k1"]).mint(BASE, HOOK)) is None


@pytest.mark.parametrize("keys", [[], [""], "single-string-not-a-list"])
def test_no_keys_is_refused(keys: list[str]) -> None:
    with pytest.raises(ValueError):
        HookKeys(keys)


def test_mint_refuses_unknown_kind_and_method() -> None:
    keys = HookKeys(["k1"])
    with pytest.raises(ValueError):
        keys.mint(BASE, Hook(kind="nope", account="AC1", url="http://a/"))
    with pytest.raises(ValueError):
        keys.mint(BASE, Hook(kind="voice", account="AC1", url="http://a/", method="PUT"))


def test_method_is_normalised_to_upper_case() -> None:
    keys = HookKeys(["k1"])
    hook = keys.open(keys.mint(BASE, Hook(kind="voice", account="AC1", url="http://a/", method="get")))
    assert hook is not None and hook.method == "GET"


def test_kind_in_path_must_match_the_minted_kind() -> None:
    keys = HookKeys(["k1"])
    url = keys.mint(BASE, HOOK)
    assert keys.open(url.replace("/hooks/gather/", "/hooks/voice/")) is None


def flip(token: str, index: int) -> str:
    swapped = "A" if token[index] != "A" else "B"
    return token[:index] + swapped + token[index + 1 :]


def hostile_paths() -> list[str]:
    url = HookKeys(["k1"]).mint(BASE, HOOK)
    head, token = url.rsplit("/", 1)
    return [
        head + "/" + token[:-1],  # truncated
        head + "/" + token[: len(token) // 2],
        head + "/" + flip(token, 10),  # forged body
        head + "/" + flip(token, len(token) - 3),  # forged tag
        head + "/" + token + "A",
        head + "/" + "A" * (MAX_TOKEN + 1),  # oversize
        head + "/",
        head + "/" + token + "/more",
        head + "/" + "é" * 10,
        head + "/%00%ff",
        "/hooks/unknown/" + token,
        "/hook/gather/" + token,
        token,
        "",
        "/",
        "/hooks//" + token,
        "\x00" * 50,
    ]


@pytest.mark.parametrize("path", hostile_paths())
def test_hostile_paths_open_to_none(path: str) -> None:
    assert HookKeys(["k1"]).open(path) is None


def test_non_string_path_is_none() -> None:
    assert HookKeys(["k1"]).open(b"/hooks/voice/x") is None  # type: ignore[arg-type]


def test_valid_fernet_token_with_a_payload_of_another_shape_is_none() -> None:
    keys = HookKeys(["k1"])
    fernet = keys._fernet
    for payload in (b"[]", b'{"a":1}', b'[1,"voice","AC1","http://a/","PUT",[]]', b"not json"):
        token = fernet.encrypt(payload).decode().rstrip("=")
        assert keys.open("/hooks/voice/" + token) is None
    bad_extra = b'[1,"voice","AC1","http://a/","POST",[["a"]]]'
    assert keys.open("/hooks/voice/" + fernet.encrypt(bad_extra).decode()) is None
    good = b'[1,"voice","AC1","http://a/","POST",[["a","b"]]]'
    assert keys.open("/hooks/voice/" + fernet.encrypt(good).decode()) == Hook(
        "voice", "AC1", "http://a/", "POST", (("a", "b"),)
    )


def test_long_app_urls_fit_under_the_token_bound() -> None:
    hook = Hook(kind="voice", account="AC" + "a" * 32, url="https://app.example.com/" + "x" * 2000)
    keys = HookKeys(["k1"])
    url = keys.mint(BASE, hook)
    assert len(token_of(url)) < MAX_TOKEN
    assert keys.open(url) == hook


def test_extra_lookup() -> None:
    assert HOOK.get("if_machine") == "Hangup"
    assert HOOK.get("missing") is None
    assert HOOK.get("missing", "x") == "x"


def test_is_hook_url() -> None:
    url = HookKeys(["k1"]).mint(BASE, HOOK)
    assert is_hook_url(url, BASE)
    assert is_hook_url(url, BASE + "/")
    assert is_hook_url(url + "?a=1", BASE)
    assert not is_hook_url(url, "https://other.example.com")
    assert not is_hook_url("https://app.example.com/menu.php", BASE)
    assert not is_hook_url(BASE + "/hooks/nope/abc", BASE)
    assert not is_hook_url(BASE + "/hooks/voice/", BASE)
    assert not is_hook_url(BASE + "/hooks/voice/a/b", BASE)
    assert not is_hook_url(BASE + "/x/hooks/voice/abc", BASE)


def test_repr_never_shows_the_app_url() -> None:
    assert "secret" not in repr(HOOK) and "app.example.com" not in repr(HOOK)
