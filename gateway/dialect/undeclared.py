"""Parameters a 2008 write operation does not declare: never sent upstream, counted and logged.

The upstream is called with credentials that may reach further than the client's own account (the
injected master credentials in sidecar mode): a parameter the gateway passed on unread could act
across that boundary (2010's ``AccountSid`` on an incoming number moves the number to that account).
So a write carries upstream only what its declaration names (:func:`~gateway.dialect.params.upstream_form`),
and each other parameter is dropped here: counted in ``gateway_undeclared_params_total`` and logged at
warning level once per name per process, as 2008 recorded an unknown parameter as a warning
notification. The value is never logged. Names are the client's to choose, so a metric label carries
the name only when the gateway knows it (:data:`KNOWN`), else ``other``, and at most
:data:`LOGGED_NAMES` names are remembered for the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from gateway import observability as obs
from gateway.resources import RESOURCES

log = logging.getLogger("gateway.params")

UPSTREAM_WRITE_PARAMS: frozenset[str] = frozenset(
    [
        "AccountSid",
        "AddressRetention",
        "AddressSid",
        "AnnounceMethod",
        "AnnounceUrl",
        "ApiVersion",
        "ApplicationSid",
        "AreaCode",
        "AsyncAmd",
        "AsyncAmdStatusCallback",
        "AsyncAmdStatusCallbackMethod",
        "Attempt",
        "BeepOnExit",
        "Body",
        "BundleSid",
        "Byoc",
        "CallDelay",
        "CallReason",
        "CallSidToCoach",
        "CallToken",
        "CallerId",
        "ClientNotificationUrl",
        "Coaching",
        "ContentRetention",
        "ContentSid",
        "ContentVariables",
        "EmergencyAddressSid",
        "EmergencyStatus",
        "EndConferenceOnExit",
        "Extension",
        "FallbackFrom",
        "FallbackMethod",
        "FallbackUrl",
        "ForceDelivery",
        "FriendlyName",
        "From",
        "Hold",
        "HoldMethod",
        "HoldUrl",
        "IdentitySid",
        "MachineDetection",
        "MachineDetectionSilenceTimeout",
        "MachineDetectionSpeechEndThreshold",
        "MachineDetectionSpeechThreshold",
        "MachineDetectionTimeout",
        "MaxPrice",
        "MediaUrl",
        "MessagingServiceSid",
        "Method",
        "Muted",
        "PersistentAction",
        "PhoneNumber",
        "PhoneNumberSid",
        "ProvideFeedback",
        "Record",
        "RecordingChannels",
        "RecordingStatusCallback",
        "RecordingStatusCallbackEvent",
        "RecordingStatusCallbackMethod",
        "RecordingTrack",
        "RiskCheck",
        "ScheduleType",
        "SendAsMms",
        "SendAt",
        "SendDigits",
        "ShortenUrls",
        "SipAuthPassword",
        "SipAuthUsername",
        "SmartEncoded",
        "SmsApplicationSid",
        "SmsFallbackMethod",
        "SmsFallbackUrl",
        "SmsMethod",
        "SmsUrl",
        "Status",
        "StatusCallback",
        "StatusCallbackEvent",
        "StatusCallbackMethod",
        "TimeLimit",
        "Timeout",
        "To",
        "TrafficType",
        "Trim",
        "TrunkSid",
        "Twiml",
        "Url",
        "ValidityPeriod",
        "VoiceApplicationSid",
        "VoiceCallerIdLookup",
        "VoiceFallbackMethod",
        "VoiceFallbackUrl",
        "VoiceMethod",
        "VoiceReceiveMode",
        "VoiceUrl",
        "WaitMethod",
        "WaitUrl",
    ]
)
"""The form parameters of the upstream POST operations the registry writes to, from their request
bodies in the 2010-04-01 and Trunking v1 OpenAPI specifications (twilio-oai ``spec/json/``, the copies
in gateway/sandbox/specs/; tests/dialect/test_undeclared.py derives the same set from them)."""

KNOWN: frozenset[str] = UPSTREAM_WRITE_PARAMS | frozenset(
    param.name
    for resource in RESOURCES
    for operation in (*resource.list_ops.values(), *resource.instance_ops.values())
    for param in operation.params
)
"""Names a metric label may carry: the 2010 write parameters and the 2008 ones the registry declares."""

OTHER = "other"
LOGGED_NAMES = 256
"""Names remembered as logged; past that, one line says later names are not logged by name."""
NAME_CHARS = 64
"""The most of a name a log line shows."""

_logged: set[str] = set()


def label(name: str) -> str:
    return name if name in KNOWN else OTHER


def drop(resource: str, operation: str, names: Iterable[str]) -> None:
    """Count (and, the first time, log) each parameter ``operation`` of ``resource`` was given and does
    not declare; the caller sends none of them upstream."""
    for name in names:
        obs.UNDECLARED_PARAMS.labels(resource, operation, label(name)).inc()
        _log_once(resource, operation, name)


def _log_once(resource: str, operation: str, name: str) -> None:
    if name in _logged or len(_logged) > LOGGED_NAMES:
        return
    _logged.add(name)
    if len(_logged) > LOGGED_NAMES:
        log.warning("more undeclared parameter names were dropped; later ones are counted, not logged")
        return
    shown = name if len(name) <= NAME_CHARS else name[:NAME_CHARS] + "…"
    log.warning(
        "dropped parameter %r on %s.%s: the 2008 operation does not declare it, so it is not sent "
        "upstream (logged once per name)",
        shown,
        resource,
        operation,
    )
