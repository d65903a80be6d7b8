"""The voice verbs as the sandbox runs them, each one a function of the run, the verb and the document's
URL that answers what comes next: ``None`` (the next verb), a :class:`Doc` to fetch (an action or a
redirect), :data:`HANGUP`, or :data:`STOP` (the call ended or was redirected through the API).

Time passes on the call's clock: ``<Say>`` :data:`SECONDS_PER_WORD` a word (a second at least),
``<Play>`` :data:`PLAY_SECONDS`, ``<Pause>`` its length, each times its ``loop`` (0: until the call ends).
``<Gather>`` plays its prompts once, then takes the call's next digits entry, a key a second
(:data:`KEY_SECONDS`): ``numDigits`` keys or ``finishOnKey`` submit at once, otherwise ``timeout``
seconds after the last key; no keys: the prompts, the timeout, and the next verb (2010 does not request
the action then). ``<Record>`` hears the caller speak for the simulation's ``record_length`` (at most
``maxLength``), then ``timeout`` seconds of silence, and makes the recording (and its transcription);
a caller who hangs up while recording is recorded so far, and the action is requested with
``Digits=hangup``. ``<Dial>`` is in :mod:`.dial`.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .call_run import HANGUP, STOP, Doc, Run, Step, resolve
from .dial import dial
from .params import call_params
from .twiml import Verb

if TYPE_CHECKING:
    from .clockwork import Track
    from .recordings import Transcription
    from .voice import Entry

SECONDS_PER_WORD = 0.4
PLAY_SECONDS = 5.0
KEY_SECONDS = 1.0
API_BASE = "https://api.twilio.com/2010-04-01/Accounts"


def seconds_of(verb: Verb, once: bool = False) -> float:
    """How long a prompt (``<Say>``, ``<Play>``, ``<Pause>``) takes, with its loop (``once``: one pass)."""
    if verb.name == "Pause":
        return float(verb["length"])
    each = (
        max(1.0, math.ceil(len(verb.text.split()) * SECONDS_PER_WORD)) if verb.name == "Say" else PLAY_SECONDS
    )
    loop = verb["loop"]
    return each if once or loop == 1 else (math.inf if loop == 0 else each * loop)


async def prompt(run: Run, verb: Verb, url: str | None) -> Step:
    return None if await run.spend(seconds_of(verb)) else STOP


def keys_of(entry: str, finish: str, most: int | None) -> tuple[str, int, bool]:
    """(the digits submitted, keys pressed, whether a key or ``numDigits`` ended the input)."""
    digits = ""
    for key in entry:
        if finish and key == finish:
            return digits, len(digits) + 1, True
        digits += key
        if most is not None and len(digits) == most:
            return digits, len(digits), True
    return digits, len(digits), False


async def gather(run: Run, verb: Verb, url: str | None) -> Step:
    entry = run.digits.popleft() if run.digits else ""
    digits, pressed, finished = keys_of(entry, verb["finishOnKey"], verb["numDigits"])
    if not digits:
        wait = sum(seconds_of(p) for p in verb.children) + verb["timeout"] + pressed * KEY_SECONDS
        return None if await run.spend(wait) else STOP
    once = sum(seconds_of(p, once=True) for p in verb.children)
    wait = once + pressed * KEY_SECONDS + (0 if finished else verb["timeout"])
    if not await run.spend(wait):
        return STOP
    return Doc(resolve(url, verb["action"]), verb["method"], {"Digits": digits}, "action")


async def record(run: Run, verb: Verb, url: str | None) -> Step:
    speech = min(run.services.simulation.record_length, float(verb["maxLength"]))
    start = run.at
    if speech < 1:
        return None if await run.spend(verb["timeout"]) else STOP
    spoke = await run.spend(speech)
    if run.interrupted():
        return STOP
    seconds = int(run.at - start)
    silent = spoke and (speech >= verb["maxLength"] or await run.spend(verb["timeout"]))
    if run.interrupted() or seconds < 1:
        return STOP
    made = _recording(run, verb, url, seconds, start)
    extra = {
        "RecordingUrl": f"{API_BASE}/{run.call.account_sid}/Recordings/{made.sid}",
        "RecordingSid": made.sid,
        "RecordingDuration": str(seconds),
    }
    if not silent:
        extra["Digits"] = "hangup"
    action = Doc(resolve(url, verb["action"]), verb["method"], extra, "action")
    if run.over():
        await run.request(action.url, action.method, {**run.params(), **extra}, "action")
        return STOP
    return action


def _recording(run: Run, verb: Verb, url: str | None, seconds: int, start: float) -> Entry:
    services = run.services
    with services.lock:
        made = services.recordings.add(run.call, seconds, start, "RecordVerb")
        if not (verb["transcribe"] or verb["transcribeCallback"]):
            return made
        item = services.recordings.transcribe(made, start + seconds)
    callback = verb["transcribeCallback"]
    if callback:
        target = resolve(url, callback)
        run.spawn(lambda track: _transcribed(run, item, target, track))
    return made


async def _transcribed(run: Run, item: Transcription, url: str | None, track: Track) -> None:
    """The transcribeCallback, posted when the transcription completes."""
    await run.until(item.done, track)
    call = run.call
    params = {
        **call_params(call, call.status(item.done)),
        "TranscriptionSid": item.sid,
        "TranscriptionText": item.text,
        "TranscriptionStatus": "completed",
        "TranscriptionUrl": f"{API_BASE}/{call.account_sid}/Transcriptions/{item.sid}",
        "RecordingSid": item.recording.sid,
        "RecordingUrl": f"{API_BASE}/{call.account_sid}/Recordings/{item.recording.sid}",
    }
    exchange = await run.request(url, "POST", params, "transcribe-callback", at=item.done)
    failure = exchange.failure()
    if failure is not None:
        run.notify(*failure, exchange=exchange, at=item.done)


async def redirect(run: Run, verb: Verb, url: str | None) -> Step:
    return Doc(resolve(url, verb.text), verb["method"], {}, "redirect")


async def hangup(run: Run, verb: Verb, url: str | None) -> Step:
    return HANGUP


VERBS: dict[str, Callable[[Run, Verb, str | None], Awaitable[Step]]] = {
    "Say": prompt,
    "Play": prompt,
    "Pause": prompt,
    "Gather": gather,
    "Record": record,
    "Dial": dial,
    "Redirect": redirect,
    "Hangup": hangup,
}


async def execute(run: Run, verbs: list[Verb], url: str | None) -> Step:
    """Runs a document's verbs in order; running out of them hangs up."""
    for verb in verbs:
        step = await VERBS[verb.name](run, verb, url)
        if step is not None:
            return step
    return HANGUP
