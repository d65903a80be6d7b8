"""The merge key of one legacy list read from several upstream lists.

A legacy filter value that means several upstream values (2008 call status 0, "not yet dialed", is
2010's ``queued`` and ``ringing``) is read as one upstream list per value; :mod:`gateway.lists.walk` merges
them block by block in the upstream's order (the resource's :class:`~gateway.resources.model.Order`),
reading each item's date as a number with :func:`instant`.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime


def instant(value: object) -> float:
    """An RFC 2822 or epoch-seconds date as a number; unknown or empty sorts last."""
    if isinstance(value, str) and value:
        if value.isdigit():
            return float(value)
        try:
            return parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            pass
    return float("-inf")
