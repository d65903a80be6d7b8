"""The command line's parser: ``serve``, ``sandbox`` and ``replay``, their descriptions, and one flag per
setting with its metavar, allowed values, default and environment variable (:mod:`gateway.settings`).
A public contract: extend, never rename."""

from __future__ import annotations

import argparse
import os
import shutil

from gateway.settings import SPECS, Spec
from gateway.settings_values import (
    _account_tokens,
    _bool,
    _cache_url,
    _callback_seconds,
    _choice,
    _credential_pairs,
    _fraction,
    _hosts,
    _networks,
    _non_negative_int,
    _non_negative_seconds,
    _opt_port,
    _opt_positive_int,
    _opt_url,
    _port,
    _positive_int,
    _region,
    _seconds,
    _secret,
    _secret_list,
    _text,
    _url,
)

SERVE_DESCRIPTION = """\
Run the gateway: the legacy 2008-08-01 API on --host:--port, answered from the 2010-04-01 API at
--upstream and Trunking v1 at --trunking-upstream (Twilio's by default).

Every flag also reads the GATEWAY_* environment variable shown after it; the flag wins. Set secrets
(--upstream-auth-token, --hook-keys, the tokens of --client-credentials and --callback-accounts) in
the environment: flags show in process listings. --sandbox runs the embedded sandbox upstream and
points both hosts at it (try it first).
"""

SANDBOX_DESCRIPTION = """\
Run the sandbox upstream alone: an in-memory emulator of the 2010-04-01 and Trunking v1 endpoints the
gateway calls. Point a gateway at it with --upstream URL --trunking-upstream URL.

environment variables:
  SANDBOX_HOST              address to bind (default 127.0.0.1; --host wins)
  SANDBOX_PORT              port to bind (default 8081; --port wins)
  SANDBOX_ACCOUNT_SID       the account (default ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)
  SANDBOX_AUTH_TOKEN        its token (default 0123456789abcdef0123456789abcdef; printed at start
                            only when it is this default)
  SANDBOX_ACCOUNTS          subaccounts of the first, as AC...:token pairs separated by commas
                            (default none)
  SANDBOX_VERIFICATION      success or fail: the outcome of every caller-id verification
                            (default success; --verification wins)
  SANDBOX_INCOMING_NUMBERS  incoming numbers pre-provisioned per account (default 5)
  SANDBOX_AVAILABLE_NUMBERS numbers on sale per area code, to buy (default 5)
  SANDBOX_SEED_CALLER_IDS   verified caller ids pre-created per account (default 0;
                            --seed-caller-ids wins)
  SANDBOX_SEED              seed data by name: calls=N,conferences=N,messages=N,recordings=N,
                            transcriptions=N,notifications=N (default none; --seed wins)
  SANDBOX_CALL_STEP         seconds a made call is queued, then ringing (default 2; --call-step wins)
  SANDBOX_CALL_LENGTH       seconds a made call is in progress (default 20; --call-length wins)
  SANDBOX_LATENCY_MS        milliseconds every API answer is delayed by (default 0;
                            --latency-ms wins; also read by serve --sandbox)
  SANDBOX_MESSAGE_STEP      seconds a sent message is queued, then sending (default 1)
  SANDBOX_UNREACHABLE_NUMBERS
                            E.164 numbers, comma-separated, that messages fail to
                            (default +15005550009)
  SANDBOX_SHORT_CODES       short codes per account, 67898 upward (default 2)
  SANDBOX_MEDIA_REDIRECT    a base URL recording audio is redirected to, as to a storage host
                            (default none)
  SANDBOX_MEDIA_AUTH        accounts (sids, comma-separated) whose recordings' audio needs
                            credentials, as when a 2010 account enforces HTTP auth on its media
                            (default none: public)
  SANDBOX_BUSY_NUMBERS      E.164 numbers, comma-separated, that answer busy (default +15005550010)
  SANDBOX_NO_ANSWER_NUMBERS numbers that ring without answer (default +15005550011)
  SANDBOX_FAILED_NUMBERS    numbers that cannot be reached (default +15005550012)
  SANDBOX_MACHINE_NUMBERS   numbers an answering machine picks up (default +15005550013)
  SANDBOX_DIGITS            what callers press, one comma-separated entry per <Gather>
                            (default none: every <Gather> times out)
  SANDBOX_RECORD_LENGTH     seconds a caller speaks into a <Record> (default 5)
  SANDBOX_WEBHOOK_TIMEOUT   seconds the sandbox waits for an application (default 5)
  SANDBOX_CALLBACK_REPEATS  times each status callback is posted; 2 stands for a retry (default 1)
  SANDBOX_MESSAGE_CALLBACKS statuses of a sent message that post its StatusCallback
                            (default sent,failed,delivered,undelivered)
  SANDBOX_DELIVERY_RECEIPTS true: a sent message is delivered one step after sent (default false)

The sandbox plays Twilio's side for applications: it requests a call's Url when answered and runs the
TwiML, posts status callbacks, and delivers incoming SMS sent through POST /sandbox/Messages.
"""

REPLAY_DESCRIPTION = """\
Replay the legacy requests recorded in a HAR file (serve --record) against a gateway, one at a time in
recorded order, and compare each answer with the recorded one: status, and the body by legacy element,
attribute, JSON key or CSV column (whitespace and attribute order ignored). Exit status: 0 when all
agree, 1 when anything differs or fails, 2 on a usage error.

credentials (never read from the HAR file, which holds **** anyway):
  REPLAY_ACCOUNT_SID and REPLAY_AUTH_TOKEN, else TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (the
  Twilio helper libraries' variables). Without --against, a fresh gateway on its own sandbox is
  started in this process and the sandbox's credentials are used unless REPLAY_* are set.

masks (--mask RULE, repeatable) hide values that differ between runs, on both sides:
  name:REGEX   every value whose element, attribute, JSON key or CSV column name fully matches REGEX
  value:REGEX  every value that fully matches REGEX
  The defaults mask sids, dates, validation codes and URIs:
    name:Sid|CallSid|DateCreated|DateUpdated|ValidationCode|Uri
    name:uri|firstpageuri|previouspageuri|nextpageuri|lastpageuri
    value:(PN|CA|AC|TK|AP)[0-9a-fA-F]{32}
  AuthToken values are masked always, --no-default-masks or not: a recording holds ****, and no
  report shows a live token (nor does a body that could not be read as its format).

writes (POST, PUT, DELETE, and _method overrides) are skipped unless --allow-writes; they are reported
as skipped, and so are later reads whose answers differ because a skipped write did not happen.
"""

METAVARS: dict[object, str] = {
    str: "ADDRESS",
    _text: "FILE",
    _bool: "true|false",
    _port: "PORT",
    _opt_port: "PORT",
    _opt_positive_int: "N",
    _positive_int: "N",
    _non_negative_int: "N",
    _seconds: "SECONDS",
    _callback_seconds: "SECONDS",
    _non_negative_seconds: "SECONDS",
    _fraction: "FRACTION",
    _region: "REGION",
    _url: "URL",
    _opt_url: "URL",
    _secret: "TOKEN",
    _credential_pairs: "SID:TOKEN,...",
    _cache_url: "URL",
    _hosts: "HOST,...",
    _secret_list: "KEY,...",
    _account_tokens: "SID:TOKEN,...",
    _networks: "HOST|CIDR,...",
}
NAMED_METAVARS = {"upstream_account_sid": "SID"}
RANGES: dict[object, str] = {
    _port: "0 to 65535",
    _opt_port: "0 to 65535",
    _positive_int: "a whole number, at least 1",
    _opt_positive_int: "a whole number, at least 1",
    _non_negative_int: "a whole number, at least 0",
    _seconds: "seconds, above 0",
    _callback_seconds: "seconds, above 0 and below 15",
    _non_negative_seconds: "seconds, at least 0",
    _fraction: "a fraction from 0 to 1",
    _region: "a two-letter region such as US",
    _url: "an http(s) URL",
    _opt_url: "an http(s) URL",
    _cache_url: "a redis://host:port/db URL (rediss:// for TLS)",
}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=min(110, shutil.get_terminal_size().columns))


def describe(spec: Spec) -> tuple[str, str]:
    """The flag's metavar and help text: what it does, the allowed values, the default, the variable."""
    allowed: str | None
    if isinstance(spec.parse, _choice):
        metavar = "|".join(spec.parse.options)
        allowed = "one of " + ", ".join(spec.parse.options)
    else:
        metavar = NAMED_METAVARS.get(spec.name) or METAVARS.get(spec.parse) or "VALUE"
        allowed = "true or false; the bare flag means true" if spec.parse is _bool else RANGES.get(spec.parse)
    default = spec.default or "unset"
    parts = [spec.help, f"Allowed: {allowed}." if allowed else "", f"Default: {default}.", f"[{spec.env}]"]
    return metavar, " ".join(part for part in parts if part)


def _serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the gateway",
        description=SERVE_DESCRIPTION,
        formatter_class=_Formatter,
        usage="python -m gateway serve [--FLAG VALUE ...]",
    )
    for spec in SPECS:
        metavar, text = describe(spec)
        if spec.parse is _bool:
            serve.add_argument(spec.flag, dest=spec.name, nargs="?", const="true", metavar=metavar, help=text)
        else:
            serve.add_argument(spec.flag, dest=spec.name, metavar=metavar, help=text)


def _sandbox_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="run the sandbox upstream alone",
        description=SANDBOX_DESCRIPTION,
        formatter_class=_Formatter,
    )
    sandbox.add_argument(
        "--host",
        default=os.environ.get("SANDBOX_HOST", "127.0.0.1"),
        metavar="ADDRESS",
        help="Address to bind. Default: 127.0.0.1. [SANDBOX_HOST]",
    )
    sandbox.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("SANDBOX_PORT", "8081")),
        help="Port to bind. Default: 8081. [SANDBOX_PORT]",
    )
    sandbox.add_argument(
        "--seed-caller-ids",
        type=int,
        default=None,
        metavar="N",
        help="Verified caller ids to pre-create per account (+1 202 555 0000 upward). Default: 0. "
        "[SANDBOX_SEED_CALLER_IDS]",
    )
    sandbox.add_argument(
        "--verification",
        choices=("success", "fail"),
        default=None,
        metavar="success|fail",
        help="Outcome of every caller-id verification call. Default: success. [SANDBOX_VERIFICATION]",
    )
    sandbox.add_argument(
        "--seed",
        default=None,
        metavar="NAME=N,...",
        help="Seed data per account by name: calls=N,conferences=N,messages=N,recordings=N,"
        "transcriptions=N,notifications=N. Default: none. [SANDBOX_SEED]",
    )
    sandbox.add_argument(
        "--call-step",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Seconds a made call spends queued, then ringing. Default: 2. [SANDBOX_CALL_STEP]",
    )
    sandbox.add_argument(
        "--call-length",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Seconds a made call stays in progress. Default: 20. [SANDBOX_CALL_LENGTH]",
    )
    sandbox.add_argument(
        "--latency-ms",
        type=float,
        default=None,
        metavar="MS",
        help="Delay every API answer by MS milliseconds, like a distant API. Default: 0. "
        "[SANDBOX_LATENCY_MS]",
    )


def _replay_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = commands.add_parser(
        "replay",
        help="replay a HAR against a gateway and diff",
        description=REPLAY_DESCRIPTION,
        formatter_class=_Formatter,
    )
    replay.add_argument("har", metavar="FILE.har", help="A HAR 1.2 file, as written by serve --record.")
    replay.add_argument(
        "--against",
        default=None,
        metavar="URL",
        help="The gateway to replay against: http(s)://host:port, plus the path prefix if a proxy mounts "
        "it under one; a trailing /2008-08-01 (a legacy client's base URL) is accepted. "
        "Default: a fresh gateway on its own sandbox, in this process.",
    )
    replay.add_argument(
        "--mask",
        action="append",
        default=[],
        metavar="RULE",
        help="Add a mask rule, name:REGEX or value:REGEX (see masks above). Repeatable.",
    )
    replay.add_argument(
        "--no-default-masks", action="store_true", help="Use only the --mask rules given, not the defaults."
    )
    replay.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FILE",
        help="Also write a report: JUnit XML for a FILE ending in .xml, a single HTML page for .html or "
        ".htm; other extensions are refused. Repeatable.",
    )
    replay.add_argument(
        "--allow-writes",
        action="store_true",
        help="Also replay POST, PUT and DELETE requests. Only against a gateway whose upstream may be "
        "changed: a validation request places a phone call.",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway",
        description="Serve Twilio's 2008-08-01 REST API over today's 2010-04-01 and Trunking v1 APIs.",
        epilog="Run 'python -m gateway COMMAND --help' for a command's flags.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve_parser(commands)
    _sandbox_parser(commands)
    _replay_parser(commands)
    return parser
