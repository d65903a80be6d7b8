"""The behaviour of the 2010 Accounts endpoints on the spec-driven engine: the sandbox's accounts, the
first one configured the parent of the others (its subaccounts), and the status changes 2010 allows.

Credentials reach an account and its subaccounts: ``GET /Accounts.json`` lists the caller's account
and its subaccounts, ``POST`` creates a subaccount (with its own token, which then authenticates),
``GET|POST /Accounts/{Sid}.json`` fetches or updates ``FriendlyName`` and ``Status`` (``active``,
``suspended``, ``closed``; a closed account stays closed).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .api import ApiError
from .store import Ordered, Store, new_sid, now
from .views import rfc2822

ACCOUNTS = "/2010-04-01/Accounts.json"
ACCOUNT = "/2010-04-01/Accounts/{Sid}.json"
STATUSES = ("active", "suspended", "closed")


@dataclass
class Account:
    seq: int
    sid: str
    owner: str
    friendly_name: str
    status: str
    date_created: datetime
    date_updated: datetime


class AccountsBehaviour:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.accounts: dict[str, Account] = {}
        self.families: dict[str, Ordered] = {}
        """An account and its subaccounts, in creation order, by the account's sid."""
        self.filters: Mapping[str, Callable[[Any, str], bool]] = {
            "FriendlyName": lambda a, v: a.friendly_name == v,
            "Status": lambda a, v: a.status == v,
        }
        sids = list(store.accounts)
        for index, sid in enumerate(sids):
            owner = sids[0] if index else sid
            self._add(sid, owner, "Sandbox account" if index == 0 else f"Sandbox subaccount {index}")

    def _add(self, sid: str, owner: str, friendly_name: str) -> Account:
        with self.store.lock:
            stamp = now()
            account = Account(len(self.accounts) + 1, sid, owner, friendly_name, "active", stamp, stamp)
            self.accounts[sid] = account
            self.families[sid] = Ordered()
            self.families[sid].add(account.seq, account)
            if owner != sid:
                self.families[owner].add(account.seq, account)
            return account

    def refresh(self) -> None:
        """Accounts have no time-driven state."""

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        return self.families.get(path["AccountSid"])

    def find(self, path: Mapping[str, str]) -> Account | None:
        account = self.accounts.get(path["Sid"])
        caller = path["AccountSid"]
        if account is None or caller not in (account.sid, account.owner):
            return None
        return account

    def create(self, path: Mapping[str, str], form: dict[str, str]) -> Account:
        caller = self.accounts[path["AccountSid"]]
        if caller.owner != caller.sid:
            raise ApiError(400, 20001, "A subaccount cannot create subaccounts")
        sid = new_sid("AC")
        self.store.accounts[sid] = secrets.token_hex(16)
        stamp = now().strftime("%Y-%m-%d %H:%M:%S")
        return self._add(sid, caller.sid, form.get("FriendlyName") or f"SubAccount Created at {stamp}")

    def update(self, account: Account, form: dict[str, str]) -> Account:
        status = form.get("Status")
        if status is not None and status != account.status:
            if account.status == "closed":
                raise ApiError(400, 20001, "A closed account cannot be reopened")
            account.status = status
        if "FriendlyName" in form:
            if len(form["FriendlyName"]) > 64:
                raise ApiError(400, 21409, "FriendlyName must be 64 characters or fewer")
            account.friendly_name = form["FriendlyName"]
        account.date_updated = now()
        return account

    def render(self, account: Account) -> dict[str, Any]:
        base = f"/2010-04-01/Accounts/{account.sid}"
        return {
            "auth_token": self.store.accounts.get(account.sid),
            "date_created": rfc2822(account.date_created),
            "date_updated": rfc2822(account.date_updated),
            "friendly_name": account.friendly_name,
            "owner_account_sid": account.owner,
            "sid": account.sid,
            "status": account.status,
            "subresource_uris": {
                name: f"{base}/{part}.json"
                for name, part in (
                    ("calls", "Calls"),
                    ("conferences", "Conferences"),
                    ("incoming_phone_numbers", "IncomingPhoneNumbers"),
                    ("notifications", "Notifications"),
                    ("outgoing_caller_ids", "OutgoingCallerIds"),
                    ("recordings", "Recordings"),
                    ("transcriptions", "Transcriptions"),
                    ("messages", "Messages"),
                )
            },
            "type": "Full",
            "uri": base + ".json",
        }
