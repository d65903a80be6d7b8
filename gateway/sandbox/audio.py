"""Recording bodies, generated: a WAV of a sine tone and an MP3 of silent frames, of any length, any
byte range of which is computed on demand (a two-hour recording is never held in memory).

WAV: RIFF/PCM, 8 kHz, 16-bit, mono (what telephone recordings are), a 400 Hz tone; the data is one
second of samples repeated, so byte ``i`` of the data is byte ``i % 16000`` of that second.

MP3: MPEG-1 Layer III frames at 32 kHz, 32 kbit/s, mono, no CRC. Each frame is 144 bytes: the 4-byte
header, 17 bytes of side information all zero (no main data, every granule empty: silence when decoded)
and zero padding. Frames carry 1152 samples (36 ms), so a recording of ``d`` seconds has
``ceil(d * 32000 / 1152)`` of them.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from functools import cache
from typing import Literal

Kind = Literal["wav", "mp3"]

RATE = 8000
TONE = 400
WAV_HEADER = 44
SECOND = RATE * 2
"""Bytes of one second of 16-bit mono PCM."""

MP3_RATE = 32000
MP3_SAMPLES = 1152
MP3_FRAME = 144
"""144 * bitrate / sample rate = 144 * 32000 / 32000 bytes, no padding."""
MP3_HEADER = bytes((0xFF, 0xFB, 0x18, 0xC0))
"""Sync, MPEG-1, Layer III, no CRC | bitrate index 1 (32k), 32 kHz, no padding | mono."""
CONTENT_TYPES = {"wav": "audio/x-wav", "mp3": "audio/mpeg"}


def wav_header(frames: int) -> bytes:
    data = frames * 2
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data)
    )


@cache
def _second() -> bytes:
    samples = (round(12000 * math.sin(2 * math.pi * TONE * n / RATE)) for n in range(RATE))
    return b"".join(struct.pack("<h", sample) for sample in samples)


@cache
def _frame() -> bytes:
    return MP3_HEADER + bytes(MP3_FRAME - len(MP3_HEADER))


def size(kind: Kind, seconds: int) -> int:
    if kind == "wav":
        return WAV_HEADER + seconds * SECOND
    return MP3_FRAME * math.ceil(seconds * MP3_RATE / MP3_SAMPLES)


def _periodic(block: bytes, start: int, end: int, chunk: int) -> Iterator[bytes]:
    """Bytes ``start``..``end`` (exclusive) of ``block`` repeated forever, in pieces of ``chunk``."""
    period = len(block)
    tiled = block * max(1, chunk // period + 2)
    at = start
    while at < end:
        offset = at % period
        take = min(chunk, end - at)
        yield tiled[offset : offset + take]
        at += take


def piece(kind: Kind, seconds: int, start: int, end: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """Bytes ``start``..``end`` (exclusive) of the recording's body, in pieces of at most ``chunk``."""
    if kind == "mp3":
        yield from _periodic(_frame(), start, end, chunk)
        return
    if start < WAV_HEADER:
        header = wav_header(seconds * RATE)
        yield header[start : min(end, WAV_HEADER)]
        start = WAV_HEADER
    if start < end:
        yield from _periodic(_second(), start - WAV_HEADER, end - WAV_HEADER, chunk)


def body(kind: Kind, seconds: int) -> bytes:
    """The whole body (small recordings and tests)."""
    return b"".join(piece(kind, seconds, 0, size(kind, seconds)))
