"""The 2010 endpoints served by the spec-driven engine: one line per resource, path and behaviour."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import call_logs, voice_api
from .engine import Endpoints
from .spec import api_spec

if TYPE_CHECKING:
    from .app import Sandbox


def spec_endpoints(sandbox: Sandbox) -> list[Endpoints]:
    spec, voice = api_spec(), sandbox.voice
    return [
        *(Endpoints(spec, *plugged) for plugged in call_logs.behaviours(voice)),
        Endpoints(spec, voice_api.CALLS, voice_api.CALL, voice_api.CallsBehaviour(voice)),
        Endpoints(spec, voice_api.CONFERENCES, voice_api.CONFERENCE, voice_api.ConferencesBehaviour(voice)),
        Endpoints(
            spec, voice_api.PARTICIPANTS, voice_api.PARTICIPANT, voice_api.ParticipantsBehaviour(voice)
        ),
    ]
