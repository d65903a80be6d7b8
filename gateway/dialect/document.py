"""Plain typed values that flow from translation to rendering: no framework objects.

A :data:`Record` is a legacy element's children in legacy order: ``(name, value)`` pairs whose value is
a string, ``None`` (rendered as an empty element, or ``null`` in JSON), or a nested record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias, Union

Value: TypeAlias = Union[str, "Record", None]
Record: TypeAlias = tuple[tuple[str, Value], ...]


@dataclass(frozen=True, slots=True)
class Instance:
    element: str
    record: Record


@dataclass(frozen=True, slots=True)
class Listing:
    element: str
    item: str
    attrs: tuple[tuple[str, str], ...]
    records: list[Record]


@dataclass(frozen=True, slots=True)
class Problem:
    status: int
    message: str
    code: int | None = None
    more_info: str | None = None

    @property
    def record(self) -> Record:
        fields: list[tuple[str, Value]] = [("Status", str(self.status)), ("Message", self.message)]
        if self.code is not None:
            fields.append(("Code", str(self.code)))
        if self.more_info is not None:
            fields.append(("MoreInfo", self.more_info))
        return tuple(fields)


Document: TypeAlias = Instance | Listing | Problem
