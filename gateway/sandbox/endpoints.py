"""The 2010 endpoints served by the spec-driven engine: one line per resource, path and behaviour."""

from __future__ import annotations

from . import call_logs, messaging, notifications, numbers_api, recordings, voice_api
from .accounts_api import ACCOUNT, ACCOUNTS
from .dialer import DialedCalls
from .engine import Endpoints
from .host import Host
from .spec import api_spec


def spec_endpoints(sandbox: Host) -> list[Endpoints]:
    spec, voice = api_spec(), sandbox.voice
    numbers, store, inventory = numbers_api, sandbox.store, sandbox.inventory
    m, r, n = messaging, recordings, notifications
    kept, texts, log = sandbox.recordings, sandbox.messaging, sandbox.notifications
    return [
        Endpoints(spec, ACCOUNTS, ACCOUNT, sandbox.accounts),
        # Local and TollFree before the instance path, whose {Sid} would take "Local" (then 404)
        Endpoints(spec, numbers.LOCAL, None, numbers.NumbersBehaviour(store, inventory, "local")),
        Endpoints(spec, numbers.TOLL_FREE, None, numbers.NumbersBehaviour(store, inventory, "toll-free")),
        Endpoints(spec, numbers.NUMBERS, numbers.NUMBER, numbers.NumbersBehaviour(store, inventory)),
        *(
            Endpoints(spec, listed, one, r.WithRecordings(behaviour, kept))
            for listed, one, behaviour in call_logs.behaviours(voice)
        ),
        Endpoints(spec, voice_api.CALLS, voice_api.CALL, DialedCalls(voice, kept, sandbox.dialer)),
        Endpoints(spec, voice_api.CONFERENCES, voice_api.CONFERENCE, voice_api.ConferencesBehaviour(voice)),
        Endpoints(
            spec, voice_api.PARTICIPANTS, voice_api.PARTICIPANT, voice_api.ParticipantsBehaviour(voice)
        ),
        Endpoints(spec, m.MESSAGES, m.MESSAGE, m.MessagesBehaviour(texts)),
        Endpoints(spec, m.SHORT_CODES, m.SHORT_CODE, m.ShortCodesBehaviour(texts)),
        Endpoints(spec, r.RECORDINGS, r.RECORDING, r.RecordingsBehaviour(kept)),
        Endpoints(spec, r.TRANSCRIPTIONS, r.TRANSCRIPTION, r.TranscriptionsBehaviour(kept, False)),
        Endpoints(
            spec, r.RECORDING_TRANSCRIPTIONS, r.RECORDING_TRANSCRIPTION, r.TranscriptionsBehaviour(kept, True)
        ),
        Endpoints(spec, n.NOTIFICATIONS, n.NOTIFICATION, n.NotificationsBehaviour(log, kept.refresh)),
    ]
