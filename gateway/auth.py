"""Who a legacy request acts as upstream: the client's own HTTP Basic credentials, or in sidecar mode the
gateway's injected ones, with the accounts the client's credential is bound to; or, for what 2008 served
without credentials (a recording's audio), no one."""

from __future__ import annotations

import base64
import binascii
import hmac

from gateway.errors import NotFound, Unauthorized
from gateway.resources import Resource
from gateway.settings import Settings


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or authorization[:6].lower() != "basic " or not authorization.isascii():
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class Authorizer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.injected: str | None = None
        """Sidecar mode: the Authorization value sent upstream instead of the client's."""
        if settings.upstream_account_sid and settings.upstream_auth_token:
            pair = f"{settings.upstream_account_sid}:{settings.upstream_auth_token.get()}"
            self.injected = "Basic " + base64.b64encode(pair.encode()).decode()

    def authorize(self, authorization: str | None) -> tuple[str, tuple[str, ...] | None]:
        """The Authorization value to send upstream (the client's own, or the injected one), and in
        sidecar mode the accounts the client's credential is bound to (``None`` otherwise).

        With injected credentials the client's must be on the allow-list: every entry is compared, in
        constant time. Only well-formed HTTP Basic credentials are ever sent upstream."""
        presented = basic_credentials(authorization)
        if presented is None or authorization is None:
            raise Unauthorized()
        if self.injected is None:
            return authorization, None
        sid, token = (part.encode() for part in presented)
        bound: tuple[str, ...] = ()
        for credential in self.settings.client_credentials:
            same_sid = hmac.compare_digest(sid, credential.sid.encode())
            same_token = hmac.compare_digest(token, credential.token.get().encode())
            if same_sid and same_token:
                bound = credential.accounts
        if not bound:
            raise Unauthorized()
        return self.injected, bound

    @property
    def served(self) -> tuple[str, ...]:
        """Sidecar mode: every account a client credential is bound to (the accounts this gateway serves)."""
        accounts = (
            account for credential in self.settings.client_credentials for account in credential.accounts
        )
        return tuple(dict.fromkeys(accounts))

    def anonymous(self, resource: Resource, account: str | None) -> tuple[str, ...] | None:
        """A request without credentials for a public operation: in sidecar mode it stays within the
        accounts the gateway serves (404 otherwise), which it is then bound to; ``None`` otherwise."""
        if self.injected is None:
            return None
        self.within(resource, account, self.served)
        return self.served

    def media(self, account: str) -> str | None:
        """The credentials to read the media of an account that enforces them, for a request that came
        without any: in sidecar mode the injected ones, for an account the gateway serves. The gateway
        holds no credentials of its own otherwise."""
        return self.injected if self.injected is not None and account in self.served else None

    def within(self, resource: Resource, account: str | None, bound: tuple[str, ...]) -> None:
        """Sidecar mode: the request stays within the accounts the client's credential is bound to
        (404 otherwise, as for any account those credentials could not see). A path naming no account
        is allowed where the answer is filtered to them (the account list); and an upstream path
        without the account (Trunking v1) acts for the injected account itself, so only that one may
        be named. (An API key sid does not say its account: then the ownership checks are left.)"""
        if account is None and resource.account_of is not None:
            return
        if account not in bound:
            raise NotFound()
        upstream = resource.upstream_list + resource.upstream_instance
        injected = self.settings.upstream_account_sid or ""
        if "{AccountSid}" not in upstream and injected.startswith("AC") and account != injected:
            raise NotFound()
