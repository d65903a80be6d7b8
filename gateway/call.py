"""What one legacy request is about, resolved against the registry (:class:`Call`), and what it comes
to (:class:`Outcome`: a legacy document, or a :class:`Bare` answer); the data :mod:`gateway.service`
passes to the edge, kept apart from the code that makes it."""

from __future__ import annotations

from dataclasses import dataclass

from gateway import resources
from gateway.dialect.document import Document
from gateway.dialect.legacy import LegacyRequest
from gateway.resources import Operation, Resource
from gateway.upstream.media import MediaReply


@dataclass(frozen=True, slots=True)
class Bare:
    """An answer that is not a legacy document: bytes (a transcription's text), or upstream media still
    on the wire (``stream``), with the headers it passes back."""

    content_type: str
    body: bytes = b""
    stream: MediaReply | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int
    document: Document | None
    columns: tuple[str, ...] = ()
    bare: Bare | None = None
    location: str | None = None
    """A 201's ``Location``: the legacy URI of what it created."""


@dataclass(frozen=True, slots=True)
class Call:
    """What one request is about, resolved against the registry."""

    request: LegacyRequest
    resource: Resource
    operation: Operation
    path: dict[str, str]
    authorization: str | None
    bound: tuple[str, ...] | None = None
    """Sidecar mode: the accounts the client's credential is bound to, the only ones it may act for."""

    @property
    def account(self) -> str:
        """The account whose lists a write makes count afresh; a list whose path names no account
        (the account list) has the scope ``""``."""
        return self.path.get("AccountSid", "")

    @property
    def endpoint(self) -> str:
        return f"{self.resource.name}.{self.operation.action}"


def route_template(resource: Resource, instance: bool) -> str:
    return resources.LEGACY_PREFIX + resource.legacy_path + ("/{Sid}" if instance else "")
