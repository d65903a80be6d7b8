"""The sandbox's generated recording bodies (gateway/sandbox/audio.py): a WAV the standard library reads,
an MP3 a tag library reads as MPEG-1 Layer III, and any byte range equal to the whole body's slice."""

from __future__ import annotations

import io
import itertools
import math
import struct
import wave

import mutagen.mp3
import pytest

from gateway.sandbox import audio


def test_the_wav_is_8khz_16bit_mono_of_the_right_length_with_a_tone() -> None:
    body = audio.body("wav", 3)
    with wave.open(io.BytesIO(body)) as read:
        assert (read.getnchannels(), read.getsampwidth(), read.getframerate()) == (1, 2, 8000)
        assert read.getnframes() == 3 * 8000
        frames = read.readframes(read.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    assert max(samples) > 10000 and min(samples) < -10000
    assert samples[:20] == samples[8000:8020]  # one second repeats
    crossings = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
    assert abs(crossings / 3 - audio.TONE) <= 1


def test_the_mp3_is_mpeg1_layer3_frames_of_the_right_duration() -> None:
    body = audio.body("mp3", 5)
    info = mutagen.mp3.MP3(io.BytesIO(body)).info
    assert (info.sample_rate, info.bitrate, info.channels) == (32000, 32000, 1)
    assert abs(info.length - 5) < 0.04
    assert len(body) == audio.MP3_FRAME * math.ceil(5 * 32000 / 1152)
    assert all(body[i : i + 4] == audio.MP3_HEADER for i in range(0, len(body), audio.MP3_FRAME))


@pytest.mark.parametrize("kind", ["wav", "mp3"])
@pytest.mark.parametrize(
    ("start", "end"), [(0, 44), (0, 45), (43, 16100), (100, 200), (40000, 48044), (5, 6)]
)
def test_any_range_is_the_slice_of_the_whole(kind: audio.Kind, start: int, end: int) -> None:
    whole = audio.body(kind, 3)
    end = min(end, len(whole))
    assert b"".join(audio.piece(kind, 3, start, end, chunk=1000)) == whole[start:end]
    assert all(len(p) <= 1000 for p in audio.piece(kind, 3, start, end, chunk=1000))


def test_sizes_are_known_without_generating() -> None:
    hour = 3600
    assert audio.size("wav", hour) == 44 + hour * 16000
    assert audio.size("mp3", hour) == 144 * 100000
