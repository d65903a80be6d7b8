"""The sandbox upstream: an in-process emulator of the 2010-04-01 and Trunking v1 endpoints."""

from __future__ import annotations

from collections.abc import Mapping

from .app import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Sandbox, SandboxConfig, create_sandbox
from .seed import parse as parse_seed
from .simulation import Simulation
from .simulation import from_env as simulation_from_env

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "Sandbox",
    "SandboxConfig",
    "Simulation",
    "config_from_env",
    "create_sandbox",
]


def config_from_env(
    env: Mapping[str, str],
    *,
    seed_caller_ids: int | None = None,
    verification: str | None = None,
    seed: str | None = None,
    call_step: float | None = None,
    call_length: float | None = None,
) -> SandboxConfig:
    """``SANDBOX_ACCOUNT_SID``/``SANDBOX_AUTH_TOKEN`` (defaults printed at start), extra accounts in
    ``SANDBOX_ACCOUNTS`` (``AC…:token,…``), ``SANDBOX_VERIFICATION`` (success|fail),
    ``SANDBOX_INCOMING_NUMBERS`` (pre-provisioned per account, default 5), ``SANDBOX_AVAILABLE_NUMBERS``
    (numbers to buy per area code, default 5), ``SANDBOX_SEED_CALLER_IDS``,
    ``SANDBOX_SEED`` (``calls=N,conferences=N,…``), ``SANDBOX_CALL_STEP`` and ``SANDBOX_CALL_LENGTH``
    (seconds; the clock of made calls), ``SANDBOX_MESSAGE_STEP`` (seconds a sent message spends queued,
    then sending), ``SANDBOX_UNREACHABLE_NUMBERS`` (E.164, comma-separated: messages to them fail; default
    +15005550009), ``SANDBOX_SHORT_CODES`` (per account, default 2), ``SANDBOX_MEDIA_REDIRECT`` (a base
    URL recording audio is redirected to, as to a storage host), ``SANDBOX_MEDIA_AUTH`` (accounts,
    comma-separated, whose recordings' media need credentials), and the simulation's variables
    (:mod:`.simulation`: who answers, digits, webhooks). Arguments given win over the environment."""
    accounts = {
        env.get("SANDBOX_ACCOUNT_SID", DEFAULT_ACCOUNT_SID): env.get("SANDBOX_AUTH_TOKEN", DEFAULT_AUTH_TOKEN)
    }
    for pair in filter(None, env.get("SANDBOX_ACCOUNTS", "").split(",")):
        sid, _, token = pair.strip().partition(":")
        if len(sid) != 34 or not sid.startswith("AC") or not token:
            raise ValueError("SANDBOX_ACCOUNTS must be AccountSid:AuthToken pairs")
        accounts[sid] = token
    mode = (verification or env.get("SANDBOX_VERIFICATION", "success")).lower()
    if mode not in ("success", "fail"):
        raise ValueError("SANDBOX_VERIFICATION must be success or fail")
    seeded = seed_caller_ids
    if seeded is None:
        seeded = int(env.get("SANDBOX_SEED_CALLER_IDS", "0"))
    step = _seconds(env, "SANDBOX_CALL_STEP", 2.0, call_step)
    length = _seconds(env, "SANDBOX_CALL_LENGTH", 20.0, call_length)
    return SandboxConfig(
        accounts=accounts,
        verification=mode,
        incoming_numbers=int(env.get("SANDBOX_INCOMING_NUMBERS", "5")),
        available_numbers=int(env.get("SANDBOX_AVAILABLE_NUMBERS", "5")),
        seed_caller_ids=seeded,
        seed=parse_seed(seed if seed is not None else env.get("SANDBOX_SEED", "")),
        call_step=step,
        call_length=length,
        message_step=_seconds(env, "SANDBOX_MESSAGE_STEP", 1.0, None),
        unreachable_numbers=_numbers(env.get("SANDBOX_UNREACHABLE_NUMBERS", "+15005550009")),
        short_codes=int(env.get("SANDBOX_SHORT_CODES", "2")),
        media_redirect=env.get("SANDBOX_MEDIA_REDIRECT", "").rstrip("/") or None,
        media_auth=_accounts(env.get("SANDBOX_MEDIA_AUTH", "")),
        simulation=simulation_from_env(env),
    )


def _accounts(raw: str) -> frozenset[str]:
    accounts = frozenset(filter(None, (part.strip() for part in raw.split(","))))
    if any(len(sid) != 34 or not sid.startswith("AC") for sid in accounts):
        raise ValueError("SANDBOX_MEDIA_AUTH must be AccountSids, comma-separated")
    return accounts


def _numbers(raw: str) -> frozenset[str]:
    numbers = frozenset(filter(None, (part.strip() for part in raw.split(","))))
    if any(not (n.startswith("+") and n[1:].isdigit()) for n in numbers):
        raise ValueError("SANDBOX_UNREACHABLE_NUMBERS must be E.164 numbers, comma-separated")
    return numbers


def _seconds(env: Mapping[str, str], name: str, default: float, given: float | None) -> float:
    raw = env.get(name)
    if given is not None:
        value = given
    elif raw is None or raw == "":
        return default
    else:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{name} must be a number of seconds") from None
    if not 0 <= value < 86400:
        raise ValueError(f"{name} must be between 0 and 86400 seconds")
    return value
