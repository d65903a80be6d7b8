"""Every required parameter of every resource, missing or blank: 400 with the code and message its 2008
page gives, never forwarded.

The pages give one such error: response.md's example of a POST to Calls without ``Called`` (21201, "No
called number is specified"). For the others no page names a code: they answer 20001 and a message
naming the parameter. The table lists every required parameter the declarations have, so a new one
fails here until its answer is decided.
"""

from __future__ import annotations

import httpx
import pytest

from gateway.resources import LEGACY_PREFIX, RESOURCES, Operation, Resource
from tests.conftest import ACCOUNT, TRUNK, CountingTransport, golden, parse_xml, verbatim_sources

GENERIC = 20001
PAGE_GIVEN = {("calls", "create", "Called"): (21201, "No called number is specified")}
"""(resource, action, parameter) → the code and message a 2008 page gives for it missing."""

VALID = {
    ("calls", "create"): {"Caller": "646-555-0000", "Called": "415-555-1212", "Url": "http://a.example/"},
    ("calls", "update"): {"CurrentUrl": "http://a.example/next"},
    ("sms_messages", "create"): {"From": "646-555-0000", "To": "415-555-1212", "Body": "Hello"},
    ("outgoing_caller_ids", "create"): {"PhoneNumber": "415-555-1212"},
    ("outgoing_caller_ids", "update"): {"FriendlyName": "Home"},
    ("trunk_phone_numbers", "create"): {"PhoneNumberSid": "PN" + "1" * 32},
}
"""A complete request of each operation that has required parameters."""

SIDS = {"AccountSid": ACCOUNT, "TrunkSid": TRUNK, "CallSid": "CA" + "2" * 32}


def required() -> list[tuple[Resource, Operation, str, bool]]:
    """(resource, operation, parameter, on an instance) for every required parameter declared."""
    found = []
    for resource in RESOURCES:
        for instance, ops in ((False, resource.list_ops), (True, resource.instance_ops)):
            for method, operation in ops.items():
                if method == "PUT":  # the same operation as POST
                    continue
                found += [(resource, operation, p.name, instance) for p in operation.params if p.required]
    return found


CASES = required()


def path_of(resource: Resource, instance: bool) -> str:
    path = LEGACY_PREFIX + resource.legacy_path.format(**SIDS)
    return path + ("/" + resource.sid_prefix + "3" * 32 if instance else "")


def test_every_required_parameter_has_a_complete_request() -> None:
    assert {(r.name, op.action) for r, op, _, _ in CASES} == set(VALID)
    assert len(CASES) == 10


def test_the_page_given_errors_are_the_pages() -> None:
    """response.md's example (fixtures/golden/rest_exception_21201.xml, a verbatim copy)."""
    assert verbatim_sources("rest_exception_21201.xml") == ["response.md"]
    example = golden("rest_exception_21201.xml")[0]
    page_given = {
        ("calls", "create", "Called"): (int(example.findtext("Code", "")), example.findtext("Message"))
    }
    assert page_given == PAGE_GIVEN


@pytest.mark.parametrize("blank", [False, True], ids=["absent", "blank"])
@pytest.mark.parametrize(
    ("resource", "operation", "name", "instance"),
    CASES,
    ids=[f"{r.name}.{op.action}.{name}" for r, op, name, _ in CASES],
)
async def test_a_missing_required_parameter_answers_the_pages_error(
    client: httpx.AsyncClient,
    upstream: CountingTransport,
    resource: Resource,
    operation: Operation,
    name: str,
    instance: bool,
    blank: bool,
) -> None:
    form = dict(VALID[(resource.name, operation.action)])
    del form[name]
    if blank:
        form[name] = "  "
    upstream.reset()
    response = await client.post(path_of(resource, instance), data=form)
    assert response.status_code == 400, response.text
    problem = parse_xml(response.content)[0]
    code, message = PAGE_GIVEN.get(
        (resource.name, operation.action, name),
        (GENERIC, f"No {name} is specified. {name} is a required parameter."),
    )
    assert (problem.findtext("Code"), problem.findtext("Message")) == (str(code), message)
    assert problem.findtext("MoreInfo", "").endswith(f"/docs/errors/{code}")
    assert upstream.count() == 0


async def test_calls_without_called_is_the_pages_example(client: httpx.AsyncClient) -> None:
    """response.md: exactly this request, this body (MoreInfo aside: today's address of the docs)."""
    response = await client.post(
        f"{LEGACY_PREFIX}/Accounts/{ACCOUNT}/Calls", data={"Caller": "646-555-0000", "Url": "http://a/"}
    )
    problem = parse_xml(response.content)[0]
    expected = golden("rest_exception_21201.xml")[0]
    assert [(child.tag, child.text) for child in problem][:3] == [
        (child.tag, child.text) for child in expected
    ][:3]
    assert [child.tag for child in problem] == [child.tag for child in expected]
