"""The exception tree. Every class maps one-to-one onto a legacy ``<RestException>`` body.

    GatewayError                      Status  Code    when
    ├── BadRequest                    400     20001   a parameter is malformed or out of range
    │   ├── MissingParameter          400     20001   a required parameter is absent (or the code
    │   │                                             its 2008 page gives: no Called, 21201)
    │   ├── InvalidPhoneNumber        400     21401   a number does not parse or is impossible
    │   └── UnsupportedMediaType      415     —       a body that is not a form
    ├── Unauthorized                  401     20003   credentials missing or refused
    ├── NotFound                      404     20404   unknown path, sid, or format suffix; sidecar: an
    │                                                 account the credential is not bound to
    ├── MethodNotAllowed              405     20004   method not declared for the resource
    ├── RequestTimeout                408     —       the body did not arrive within the client timeout
    ├── PayloadTooLarge               413     —       body over the configured limit
    ├── UriTooLong                    414     —       URL over the configured limit
    ├── HeadersTooLarge               431     —       request headers over the configured limit
    ├── UpstreamRestError             (as upstream)   the upstream answered with its JSON error
    ├── BadGateway                    502     —       upstream unreachable, or its body is not what we expect
    ├── ServiceUnavailable            503     —       the circuit breaker for that upstream host is open
    └── GatewayTimeout                504     —       the upstream did not answer in time

Messages never contain credentials: nothing here is built from headers or URL userinfo.
"""

from __future__ import annotations

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


class GatewayError(Exception):
    status: int = 500
    code: int | None = None
    message: str = "The gateway could not complete the request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        status: int | None = None,
        more_info: str | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self._more_info = more_info
        super().__init__(self.message)

    @property
    def more_info(self) -> str | None:
        if self._more_info is not None:
            return self._more_info
        return MORE_INFO.format(code=self.code) if self.code is not None else None


class BadRequest(GatewayError):
    status = 400
    code = 20001
    message = "Bad request"


class MissingParameter(BadRequest):
    def __init__(self, name: str, code: int | None = None, message: str | None = None) -> None:
        super().__init__(message or f"No {name} is specified. {name} is a required parameter.", code=code)


class InvalidPhoneNumber(BadRequest):
    code = 21401

    def __init__(self, name: str, value: str) -> None:
        super().__init__(f"The {name} {value!r} is not a valid phone number.")


class UnsupportedMediaType(GatewayError):
    status = 415
    code = None
    message = "Parameters must be sent as application/x-www-form-urlencoded"


class Unauthorized(GatewayError):
    status = 401
    code = 20003
    message = "Authenticate"


class NotFound(GatewayError):
    status = 404
    code = 20404
    message = "The requested resource was not found"


class MethodNotAllowed(GatewayError):
    status = 405
    code = 20004

    def __init__(self, method: str, allowed: tuple[str, ...] = ()) -> None:
        self.allowed = allowed
        super().__init__(f"The {method} method is not allowed on this resource")


class RequestTimeout(GatewayError):
    status = 408
    message = "The request body did not arrive in time"


class PayloadTooLarge(GatewayError):
    status = 413
    message = "The request body is too large"


class UriTooLong(GatewayError):
    status = 414
    message = "The request URI is too long"


class HeadersTooLarge(GatewayError):
    status = 431
    message = "The request headers are too large"


class UpstreamRestError(GatewayError):
    """The upstream's own JSON error (``code``, ``message``, ``more_info``, ``status``)."""

    def speaking_of(self, legacy_uri: str, target: str) -> UpstreamRestError:
        """The error with the upstream path it names (``target``) replaced by the legacy one: the
        client never asked for a 2010 path. A 404 says which legacy resource was not found, in
        Twilio's words."""
        if self.status == 404:
            message = f"The requested resource {legacy_uri} was not found"
        else:
            upstream_path = target.split("?", 1)[0]
            message = self.message.replace(upstream_path, legacy_uri)
            message = message.replace(upstream_path.removesuffix(".json"), legacy_uri)
        if message == self.message:
            return self
        return UpstreamRestError(message, code=self.code, status=self.status, more_info=self.more_info)


class BadGateway(GatewayError):
    status = 502
    message = "The upstream API could not be reached"


class ServiceUnavailable(GatewayError):
    status = 503
    message = "The upstream API is failing; requests are paused briefly"


class GatewayTimeout(GatewayError):
    status = 504
    message = "The upstream API did not answer in time"
