"""Hostile sound files for the hardening tests (issue 22): each is written here, byte by byte, and
is at most 1 MB. `write_all(folder)` makes every one and returns {name: path}.

WAV headers are written with `struct` so that any value can lie: the sample rate, the channel
count, the data size. The junk files are what a user's folder holds by mistake: an empty .mp3,
text saved as .wav, random bytes as .mp3/.ogg/.flac, a header cut short, a FLAC whose header claims
days of audio, and FLACs of 28 KB that truly decode to 20 minutes (with their length given or not). `readable_files()` are damaged but still hold the speech.
"""

import functools
import io
import struct

import numpy as np


def wav_bytes(samples_int16: np.ndarray, rate: int, channels: int = 1, data_size: int | None = None,
              block_align: int | None = None, bits: int = 16, format_tag: int = 1) -> bytes:
    """A RIFF/WAVE file whose header says exactly what it is told, whatever the data."""
    data = np.asarray(samples_int16, "<i2").tobytes()
    width = bits // 8
    block = channels * width if block_align is None else block_align
    fmt = struct.pack("<HHIIHH", format_tag, channels & 0xFFFF, rate & 0xFFFFFFFF,
                      (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size & 0xFFFFFFFF) + data
    return b"RIFF" + struct.pack("<I", len(body) & 0xFFFFFFFF) + body


def speechlike(seconds: float = 2.0, rate: int = 16000) -> np.ndarray:
    """A voiced, syllable-rate modulated tone as int16."""
    t = np.arange(int(seconds * rate)) / rate
    signal = np.sin(2 * np.pi * 140 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) * 0.4
    return (signal * 32767).astype("<i2")


@functools.lru_cache(maxsize=None)
def held_value_flac(seconds: int, rate: int = 8000) -> bytes:
    """A FLAC that truly decodes to `seconds` of one held value (not silent): a minute packs into
    about 1.5 KB, so an hour fits far below 1 MB."""
    import soundfile
    buffer = io.BytesIO()
    minute = np.full(60 * rate, 3000, dtype=np.int16)
    with soundfile.SoundFile(buffer, "w", rate, 1, format="FLAC", subtype="PCM_16") as handle:
        for _ in range(seconds // 60):
            handle.write(minute)
    return buffer.getvalue()


def flac_claiming(total_samples: int, rate: int | None = None, flac: bytes | None = None) -> bytes:
    """A real FLAC (1 s of speech unless `flac` is given) whose STREAMINFO claims `total_samples`
    (and `rate`, when given)."""
    if flac is None:
        import soundfile
        buffer = io.BytesIO()
        soundfile.write(buffer, speechlike(1.0), 16000, format="FLAC", subtype="PCM_16")
        flac = buffer.getvalue()
    data = bytearray(flac)
    assert data[:4] == b"fLaC"
    info = 8  # "fLaC" + the metadata block header
    packed = int.from_bytes(data[info + 10:info + 18], "big")  # rate 20 | channels 3 | bits 5 | samples 36
    if rate is not None:
        packed = (packed & ((1 << 44) - 1)) | (rate << 44)
    packed = (packed & ~((1 << 36) - 1)) | (total_samples & ((1 << 36) - 1))
    data[info + 10:info + 18] = packed.to_bytes(8, "big")
    return bytes(data)


def hostile_files() -> dict[str, bytes]:
    """name -> bytes of every hostile file (each <= 1 MB)."""
    rng = np.random.default_rng(22)
    voice = speechlike(2.0)
    good = wav_bytes(voice, 16000)
    return {
        "empty.mp3": b"",
        "empty.wav": b"",
        "text.wav": b"This is the script of the scene, not a recording.\n" * 40,
        "text.mp3": b"INT. KITCHEN - NIGHT\nANNA: Pass the salt.\n" * 40,
        "junk.mp3": rng.integers(0, 256, 64_000, dtype=np.uint8).tobytes(),
        "junk.ogg": b"OggS" + rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes(),
        "junk.flac": b"fLaC" + rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes(),
        "id3-then-junk.mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes(),
        "riff-only.wav": good[:12],
        "header-cut.wav": good[:30],
        "no-data.wav": good[:44 - 8],
        "rate-1hz.wav": wav_bytes(voice[:66_000], 1),
        "rate-4ghz.wav": wav_bytes(voice[:66_000], 4_000_000_000),
        "rate-0.wav": wav_bytes(voice, 0),
        "channels-65535.wav": wav_bytes(voice, 16000, channels=65535),
        "channels-0.wav": wav_bytes(voice, 16000, channels=0),
        "float-rate-1hz.wav": wav_bytes(voice, 1, bits=32, format_tag=3),
        "flac-rate-1mhz.flac": flac_claiming(16000, rate=1_000_000),
        "flac-rate-1hz.flac": flac_claiming(16000, rate=1),
        "flac-claims-days.flac": flac_claiming(2**36 - 1),
        "flac-decodes-to-20-minutes.flac": held_value_flac(1200),
        "flac-length-unknown.flac": flac_claiming(0, flac=held_value_flac(1200)),
    }


def readable_files() -> dict[str, bytes]:
    """Damaged files that still hold usable speech: they must load, with their real length."""
    voice = speechlike(2.0)
    return {
        "data-size-4gb.wav": wav_bytes(voice, 16000, data_size=0xFFFFFFFF),
        "truncated-data.wav": wav_bytes(voice, 16000)[:44 + 16000],
        "block-align-0.wav": wav_bytes(voice, 16000, block_align=0),
        "bits-7.wav": wav_bytes(voice, 16000, bits=7),
    }


def write_all(folder, files: dict[str, bytes]) -> dict[str, str]:
    paths = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        assert len(data) <= 1_000_000
        paths[name] = str(path)
    return paths
