"""The registry as data: paths, aliases, sids and value maps; every upstream path it names is in a spec."""

from __future__ import annotations

import json

import pytest

from gateway import resources
from gateway.resources import RESOURCES, match
from gateway.resources.calls import CALL_STATUS, DIRECTION_FLAGS, IF_MACHINE
from gateway.resources.model import BOOL_DIGIT, LENIENT_BOOL, ValueMap
from tests.conftest import SPECS

AC = "AC" + "a" * 32
CA = "CA" + "1" * 32
CF = "CF" + "2" * 32


def spec_paths() -> set[str]:
    paths: set[str] = set()
    for name in ("twilio_api_v2010.legacy_surface.json", "twilio_api_v2010.outgoing_caller_ids.json"):
        paths |= set(json.loads((SPECS / name).read_text())["paths"])
    paths |= set(json.loads((SPECS / "twilio_trunking_v1.phone_numbers.json").read_text())["paths"])
    return paths


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_every_upstream_path_is_in_a_spec(resource: resources.Resource) -> None:
    known = spec_paths()
    instance = resource.upstream_instance
    if instance.endswith("/Participants/{Sid}.json"):  # the spec names a participant by its CallSid
        instance = instance.replace("{Sid}", "{CallSid}")
    canonical = (resource.upstream_list, instance)
    # the spec names an account by {Sid}, where every other path calls it {AccountSid}
    canonical = tuple(p.replace("/Accounts/{AccountSid}.json", "/Accounts/{Sid}.json") for p in canonical)
    assert set(canonical) <= known, canonical


def test_names_are_unique_and_paths_resolve_to_their_resource() -> None:
    assert len({r.name for r in RESOURCES}) == len(RESOURCES)
    cases = {
        f"/Accounts/{AC}/Calls": ("calls", {"AccountSid": AC}),
        f"/Accounts/{AC}/Calls/{CA}": ("calls", {"AccountSid": AC, "Sid": CA}),
        f"/Accounts/{AC}/Calls/{CA}/Segments": ("call_segments", {"AccountSid": AC, "CallSid": CA}),
        f"/Accounts/{AC}/Calls/{CA}/Segments/{CA}": (
            "call_segments",
            {"AccountSid": AC, "CallSid": CA, "Sid": CA},
        ),
        f"/Accounts/{AC}/Calls/{CA}/Recordings": ("call_recordings", {"AccountSid": AC, "CallSid": CA}),
        f"/Accounts/{AC}/Calls/{CA}/Notifications": ("call_notifications", {"AccountSid": AC, "CallSid": CA}),
        f"/Accounts/{AC}/Conferences/{CF}": ("conferences", {"AccountSid": AC, "Sid": CF}),
        f"/Accounts/{AC}/Conference/{CF}": ("conferences", {"AccountSid": AC, "Sid": CF}),
        f"/Accounts/{AC}/Conference/{CF}/Participants/{CA}": (
            "participants",
            {"AccountSid": AC, "ConferenceSid": CF, "Sid": CA},
        ),
    }
    for path, (name, params) in cases.items():
        found = match(path)
        assert found is not None, path
        assert (found[0].name, found[1]) == (name, params), path
    assert match(f"/Accounts/{AC}/Calls/{CA}/Segments/{CA}/More") is None


def test_sids_are_checked_per_resource() -> None:
    calls, segments = (r for r in RESOURCES if r.name in ("calls", "call_segments"))
    assert calls.valid("Sid", CA) and not calls.valid("Sid", CF) and not calls.valid("Sid", "CA123")
    assert segments.valid("CallSid", CA) and not segments.valid("CallSid", "PN" + "1" * 32)
    assert not calls.valid("Unknown", CA)


def test_value_maps_go_both_ways() -> None:
    assert [CALL_STATUS.legacy(s) for s in ("queued", "ringing", "in-progress", "completed")] == [
        "0",
        "0",
        "1",
        "2",
    ]
    assert [CALL_STATUS.legacy(s) for s in ("busy", "failed", "no-answer", "canceled")] == [
        "3",
        "4",
        "5",
        "5",
    ]
    assert CALL_STATUS.upstream("0") == ("queued", "ringing")
    assert CALL_STATUS.upstream("5") == ("no-answer", "canceled")
    assert CALL_STATUS.upstream("9") is None
    assert CALL_STATUS.legacy("something-new") == "something-new" and CALL_STATUS.legacy(None) is None
    assert DIRECTION_FLAGS.legacy("trunking-originating") == "0"
    assert IF_MACHINE.upstream("Hangup") == ("Enable",) and IF_MACHINE.upstream("Maybe") is None
    assert (BOOL_DIGIT.legacy("true"), BOOL_DIGIT.legacy("false")) == ("1", "0")
    assert [LENIENT_BOOL.upstream(v) for v in ("true", "1", "0", "yes")] == [
        ("true",),
        ("true",),
        ("false",),
        ("false",),
    ]
    assert ValueMap("x", {"a": "1"}, default="9").legacy("b") == "9"


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_every_declaration_compiles_into_a_translator(resource: resources.Resource) -> None:
    from gateway.dialect.translate import translator

    columns = translator(resource).columns
    assert len(columns) == len(set(columns)) >= len(resource.item.fields)
    for operation in (*resource.list_ops.values(), *resource.instance_ops.values()):
        if operation.shape is not None:
            assert translator(resource, operation.shape).columns
