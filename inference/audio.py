"""Audio in: any file or array to mono float32 samples at 16 kHz, with animator-facing checks.

Two layers, kept apart so that Blender's own decoder (a later issue) can feed the second:

- reading: `load_audio(path)` reads WAV (8/16/24/32-bit PCM) through Python's `wave` module in
  blocks, and FLAC/OGG/float WAV/other formats through `soundfile` when that package is importable;
- converting: `to_mono_16k(samples, rate)` / `audio_from_array(samples, rate)` mix channels down and
  resample with a block-wise FFT resampler (ideal low-pass with a raised-cosine roll-off just below
  the lower Nyquist frequency, so nothing aliases). Blocks overlap by a margin that absorbs the
  circular-convolution wrap, so memory stays bounded and an hour of 48 kHz audio takes seconds.

All output is float32 in [-1, 1] nominal, shape [N], at `TARGET_RATE`. Problems the animator can
live with (NaN samples, silence, clipping) come back as `Audio.warnings`; unusable input raises
`AudioError`.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import wave
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .errors import AudioError

log = logging.getLogger(__name__)

TARGET_RATE = 16000

# Resampler: pass band up to ROLLOFF_START x the lower Nyquist, raised-cosine to zero at Nyquist.
ROLLOFF_START = 0.90
# Overlap on each side of an FFT block (seconds of input); the kernel has decayed long before.
RESAMPLE_MARGIN_S = 0.05
# Aim for FFT blocks of about this many input samples (the exact size is a smooth multiple of M).
RESAMPLE_BLOCK_SAMPLES = 1 << 19
# Reading: frames per `readframes` call / per block of an in-memory array.
READ_BLOCK_FRAMES = 1 << 18

SILENCE_PEAK_DBFS = -60.0
SILENT_PEAK = 10.0 ** (SILENCE_PEAK_DBFS / 20.0)
CLIP_LEVEL = 0.999           # |sample| at or above this (of full scale) counts as clipped
CLIPPED_FRACTION = 0.001     # warn when more than this share of samples is clipped

SUPPORTED_WAV_WIDTHS = (1, 2, 3, 4)

# Header values are checked against these before anything is allocated: a header that claims 1 Hz,
# 4 GHz or 65535 channels describes no dialogue, and trusting it costs gigabytes.
MIN_RATE = 4000
MAX_RATE = 384000
MAX_CHANNELS = 64
MAX_DURATION_S = 2 * 3600.0
# A compressed file's header may claim any length: room is reserved for at most this many frames per
# byte of file (low-bitrate Opus speech is about 64), and grows only as real samples arrive.
MAX_FRAMES_PER_BYTE = 64
# No speech codec Lipkit reads goes below 4 kbit/s (Opus 6, MP3 8): a compressed file holds at most a
# second of audio per this many bytes. A file that decodes to more is refused there; a FLAC of
# one held value packs two hours into 1 MB and would otherwise cost about 1 GB and minutes.
MIN_COMPRESSED_BYTES_PER_SECOND = 500


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples at `sample_rate` (always `TARGET_RATE`), where they came from, and warnings."""

    samples: np.ndarray
    sample_rate: int = TARGET_RATE
    source: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / float(self.sample_rate)

    @property
    def is_silent(self) -> bool:
        """Nothing louder than `SILENCE_PEAK_DBFS` (the loader has already warned about it)."""
        return is_silent(self.samples)


# --------------------------------------------------------------------------- resampling


def _smooth_number(n: int) -> int:
    """The smallest 2^a 3^b 5^c that is >= n (FFT-friendly sizes)."""
    best = 1 << max(0, (n - 1).bit_length())
    five = 1
    while five < best:
        three = five
        while three < best:
            value = three
            while value < n:
                value *= 2
            best = min(best, value)
            three *= 3
        five *= 5
    return best


class _StreamResampler:
    """Streaming rational resampler `rate_in` -> `rate_out` by overlapping FFT blocks.

    Output sample k sits at input time k * M / L, exactly (L/M is the reduced rate ratio); the
    first output sits at the first input sample. Feed blocks with `push`, then call `flush`; both
    return the float32 outputs that became final.
    """

    def __init__(self, rate_in: int, rate_out: int = TARGET_RATE):
        g = math.gcd(int(rate_in), int(rate_out))
        self.up, self.down = rate_out // g, rate_in // g
        m = self.down
        self.margin = m * max(1, math.ceil(RESAMPLE_MARGIN_S * rate_in / m))
        body_units = max(1, RESAMPLE_BLOCK_SAMPLES // m)
        units = _smooth_number(body_units + 2 * self.margin // m)
        self.segment = units * m                       # FFT length in input samples
        self.body = self.segment - 2 * self.margin     # input samples finalised per block
        self.out_segment = units * self.up
        self.out_margin = self.margin // m * self.up
        self.out_body = self.body // m * self.up
        self._taper = self._make_taper()
        self._buffer = np.zeros(self.margin, dtype=np.float32)   # left zero margin
        self._pending = 0   # real input samples in the buffer not yet finalised

    def _make_taper(self) -> np.ndarray:
        """Gain per output-length rfft bin: L/M in the pass band, raised cosine down to 0 at Nyquist."""
        n_bins = min(self.segment, self.out_segment) // 2 + 1
        freq = np.arange(n_bins) / (min(self.segment, self.out_segment) / 2.0)  # 1.0 = lower Nyquist
        taper = np.ones(n_bins)
        band = freq > ROLLOFF_START
        taper[band] = 0.5 * (1.0 + np.cos(np.pi * (freq[band] - ROLLOFF_START) / (1.0 - ROLLOFF_START)))
        return taper * (self.up / self.down)

    def _resample_segment(self, segment: np.ndarray) -> np.ndarray:
        spectrum = np.fft.rfft(segment)
        out = np.zeros(self.out_segment // 2 + 1, dtype=np.complex128)
        n = len(self._taper)
        out[:n] = spectrum[:n] * self._taper
        return np.fft.irfft(out, self.out_segment)[self.out_margin:self.out_margin + self.out_body].astype(np.float32)

    def push(self, block: np.ndarray) -> Iterator[np.ndarray]:
        """Add input samples; yields the output blocks that are complete."""
        self._pending += len(block)
        self._buffer = np.concatenate([self._buffer, np.asarray(block, dtype=np.float32)])
        while len(self._buffer) >= self.segment:
            yield self._resample_segment(self._buffer[:self.segment])
            self._buffer = self._buffer[self.body:]
            self._pending -= self.body

    def flush(self) -> Iterator[np.ndarray]:
        """Pad the tail with zeros and yield the remaining outputs (trimmed by the caller)."""
        while self._pending > 0:
            pad = self.segment - len(self._buffer)
            if pad > 0:
                self._buffer = np.concatenate([self._buffer, np.zeros(pad, dtype=np.float32)])
            yield self._resample_segment(self._buffer[:self.segment])
            self._buffer = self._buffer[self.body:]
            self._pending -= self.body

    def output_length(self, n_in: int) -> int:
        """Number of outputs for `n_in` inputs: ceil(n_in * L / M)."""
        return -(-n_in * self.up // self.down)


# --------------------------------------------------------------------------- conversion


class _Stats:
    """Running checks over raw input blocks: non-finite samples, clipping."""

    def __init__(self):
        self.nonfinite = 0
        self.clipped = 0
        self.count = 0

    def clean(self, block: np.ndarray) -> np.ndarray:
        """float32 copy of `block` with NaN/inf replaced by 0 (counted)."""
        block = np.asarray(block, dtype=np.float32)
        bad = ~np.isfinite(block)
        n_bad = int(bad.sum())
        if n_bad:
            self.nonfinite += n_bad
            block = np.where(bad, np.float32(0.0), block)
        self.clipped += int(np.count_nonzero(np.abs(block) >= CLIP_LEVEL))
        self.count += block.size
        return block


def _mono(block: np.ndarray) -> np.ndarray:
    """[N] or [N, C] float32 -> [N] (channel mean)."""
    if block.ndim == 1:
        return block
    if block.ndim == 2:
        return block.mean(axis=1, dtype=np.float32) if block.shape[1] != 1 else block[:, 0]
    raise AudioError(f"audio must be [samples] or [samples, channels], got shape {block.shape}")


def _as_float(block: np.ndarray) -> np.ndarray:
    """Integer PCM arrays to float in [-1, 1); float arrays as they are."""
    if block.dtype.kind == "f":
        return block
    if block.dtype.kind == "u":
        half = float(1 << (8 * block.dtype.itemsize - 1))
        return (block.astype(np.float32) - half) / half
    if block.dtype.kind == "i":
        return block.astype(np.float32) / float(1 << (8 * block.dtype.itemsize - 1))
    raise AudioError(f"unsupported sample type {block.dtype}")


class _Output:
    """A float32 buffer filled chunk by chunk: `capacity` reserved up front, grown only as real
    samples arrive, and never past `limit` samples (`AudioError`)."""

    def __init__(self, capacity: int, limit: int, too_long: str):
        self.buffer = np.empty(max(0, min(capacity, limit)), dtype=np.float32)
        self.size, self.limit, self.too_long = 0, limit, too_long

    def put(self, chunk: np.ndarray) -> None:
        need = self.size + len(chunk)
        if need > self.limit:
            raise AudioError(self.too_long)
        if need > len(self.buffer):
            grown = np.empty(min(self.limit, max(need, 2 * len(self.buffer))), dtype=np.float32)
            grown[:self.size] = self.buffer[:self.size]
            self.buffer = grown
        self.buffer[self.size:need] = chunk
        self.size = need

    def result(self, length: int) -> np.ndarray:
        length = min(length, self.size)
        if length < len(self.buffer) // 2:        # mostly unused room: give it back
            return self.buffer[:length].copy()
        return self.buffer[:length]


def check_rate(sample_rate, label: str = "the audio") -> int:
    """The sample rate as an int within `MIN_RATE`..`MAX_RATE`, or `AudioError`."""
    try:
        rate = int(sample_rate)
    except (TypeError, ValueError, OverflowError):
        rate = 0
    if not MIN_RATE <= rate <= MAX_RATE or rate != sample_rate:
        raise AudioError(f"{label} claims a sample rate of {sample_rate} Hz; Lipkit reads "
                         f"{MIN_RATE}-{MAX_RATE} Hz audio (the file may be damaged).")
    return rate


def check_channels(channels, label: str = "the audio") -> int:
    if not 1 <= int(channels) <= MAX_CHANNELS:
        raise AudioError(f"{label} claims {channels} channels; Lipkit reads 1-{MAX_CHANNELS} "
                         "(the file may be damaged).")
    return int(channels)


def too_long_message(label: str, limit_s: float) -> str:
    if limit_s >= MAX_DURATION_S:
        return f"{label} is longer than {MAX_DURATION_S / 3600:g} hours: split the dialogue into shorter clips."
    return (f"{label} holds more than {limit_s / 60:.1f} minutes of audio, more than a file of its size can "
            "hold at any speech bitrate: it is damaged or made to exhaust memory. Re-export it, or convert it "
            "to 16-bit PCM WAV.")


def _convert_blocks(blocks: Iterable[np.ndarray], sample_rate: int, n_frames: int,
                    stats: _Stats, label: str = "the audio", limit_s: float = MAX_DURATION_S) -> np.ndarray:
    """Mix down, clean and resample a stream of raw blocks (about `n_frames` frames) into one array.

    `n_frames` only sizes the first allocation: the result is as long as the blocks really are, up
    to `limit_s` seconds (`AudioError` past it).
    """
    sample_rate = check_rate(sample_rate, label)
    limit = int(min(limit_s, MAX_DURATION_S) * TARGET_RATE)
    if sample_rate == TARGET_RATE:
        out = _Output(n_frames, limit, too_long_message(label, limit_s))
        for block in blocks:
            out.put(_mono(stats.clean(_as_float(block))))
        return out.result(out.size)
    resampler = _StreamResampler(sample_rate, TARGET_RATE)
    out = _Output(resampler.output_length(n_frames), limit, too_long_message(label, limit_s))
    n_in = 0
    for block in blocks:
        n_in += len(block)
        for chunk in resampler.push(_mono(stats.clean(_as_float(block)))):
            out.put(chunk)
    for chunk in resampler.flush():
        out.put(chunk[:max(0, resampler.output_length(n_in) - out.size)])
    return out.result(resampler.output_length(n_in))


def _array_blocks(samples: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(samples), READ_BLOCK_FRAMES):
        yield samples[start:start + READ_BLOCK_FRAMES]


def to_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Any [N] or [N, C] array (int PCM or float) at any rate to mono float32 at 16 kHz.

    NaN/inf become 0. Integer arrays are scaled to [-1, 1). Use `audio_from_array` to get the
    warnings as well.
    """
    samples = np.asarray(samples)
    return _convert_blocks(_array_blocks(samples), sample_rate, len(samples), _Stats())


def is_silent(samples: np.ndarray) -> bool:
    """Empty, or nothing louder than `SILENCE_PEAK_DBFS`."""
    return not len(samples) or float(np.max(np.abs(samples))) < SILENT_PEAK


def _warnings(samples: np.ndarray, stats: _Stats, source: str) -> tuple[str, ...]:
    name = os.path.basename(source) or "the audio"
    found = []
    if stats.nonfinite:
        found.append(f"{name}: {stats.nonfinite} invalid (NaN/inf) samples were replaced by silence.")
    if stats.count and stats.clipped / stats.count > CLIPPED_FRACTION:
        found.append(f"{name}: {100.0 * stats.clipped / stats.count:.1f}% of samples are clipped; "
                     "the lip sync may be less precise on distorted passages.")
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak < SILENT_PEAK:
        level = "-inf" if peak == 0.0 else f"{20.0 * math.log10(peak):.0f}"
        found.append(f"{name} is silent (peak {level} dBFS); the mouth will stay closed. "
                     "Check that the right file or sound strip was chosen.")
    for message in found:     # returned to the caller, who shows them; logged for --verbose
        log.info(message)
    return tuple(found)


def _finish(blocks: Iterable[np.ndarray], sample_rate: int, n_frames: int, source: str,
            limit_s: float = MAX_DURATION_S) -> Audio:
    label = os.path.basename(source) or "the audio"
    rate = check_rate(sample_rate, label)
    if n_frames <= 0:
        raise AudioError(f"{os.path.basename(source) or 'The audio'} contains no samples (zero length).")
    if n_frames > MAX_DURATION_S * rate:
        raise AudioError(f"{label} is longer than {MAX_DURATION_S / 3600:g} hours "
                         f"({n_frames / rate / 3600:.1f} h claimed): split the dialogue into shorter clips.")
    stats = _Stats()
    samples = _convert_blocks(blocks, rate, n_frames, stats, label, limit_s)
    if len(samples) == 0:
        raise AudioError(f"{os.path.basename(source) or 'The audio'} contains no samples (zero length).")
    return Audio(samples=samples, sample_rate=TARGET_RATE, source=source,
                 warnings=_warnings(samples, stats, source))


def audio_from_array(samples: np.ndarray, sample_rate: int, source: str = "") -> Audio:
    """`Audio` from raw samples ([N] or [N, C], int PCM or float) at any rate, with warnings.

    This is the entry point for decoders other than `load_audio` (e.g. Blender's).
    Raises `AudioError` for zero-length input or a bad shape / rate.
    """
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2):
        raise AudioError(f"audio must be [samples] or [samples, channels], got shape {samples.shape}")
    if samples.ndim == 2 and samples.shape[1] == 0:
        raise AudioError("the audio has no channels")
    if samples.ndim == 2:
        check_channels(samples.shape[1], os.path.basename(source) or "the audio")
    return _finish(_array_blocks(samples), sample_rate, len(samples), source)


# --------------------------------------------------------------------------- reading files


def _pcm_to_array(raw: bytes, width: int, channels: int) -> np.ndarray:
    """Little-endian PCM bytes to an integer array [frames, channels] (8-bit is unsigned)."""
    if width == 1:
        data = np.frombuffer(raw, dtype=np.uint8)
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2")
    elif width == 3:
        bytes3 = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        data = (bytes3[:, 0] | (bytes3[:, 1] << 8) | (bytes3[:, 2] << 16)) << 8  # as int32, sign kept
    else:
        data = np.frombuffer(raw, dtype="<i4")
    return data.reshape(-1, channels)


def _wav_blocks(handle: wave.Wave_read, width: int, channels: int) -> Iterator[np.ndarray]:
    while True:
        raw = handle.readframes(READ_BLOCK_FRAMES)
        if not raw:
            return
        usable = len(raw) - len(raw) % (width * channels)
        if usable <= 0:
            return
        yield _pcm_to_array(raw[:usable], width, channels)


def _load_wav(path: str) -> Audio | None:
    """Read a PCM WAV with `wave`; None when `wave` cannot (float WAV, WAVE_FORMAT_EXTENSIBLE...)."""
    name = os.path.basename(path)
    try:
        handle = wave.open(path, "rb")
    except (wave.Error, EOFError):
        return None
    except (struct.error, ValueError, OverflowError, RuntimeError) as exc:   # a header cut short or out of range
        raise AudioError(f"{name} is damaged: its WAV header cannot be read ({exc}).") from exc
    with handle:
        width, channels = handle.getsampwidth(), handle.getnchannels()
        rate, n_frames = handle.getframerate(), handle.getnframes()
        if width not in SUPPORTED_WAV_WIDTHS or channels < 1:
            return None
        check_rate(rate, name)
        check_channels(channels, name)
        # A WAV written to a pipe (espeak-ng --stdout, sox -) has a placeholder length in its header:
        # the file's size bounds what can really be there.
        n_frames = min(n_frames, os.path.getsize(path) // (width * channels))
        try:
            return _finish(_wav_blocks(handle, width, channels), rate, n_frames, path)
        except (wave.Error, EOFError, ValueError, struct.error, RuntimeError) as exc:
            raise AudioError(f"{name} is damaged and cannot be read ({exc}).") from exc


def _load_soundfile(path: str) -> Audio:
    try:
        import soundfile
    except ImportError as exc:
        raise AudioError(f"{os.path.basename(path)}: this format cannot be read here; "
                         "convert it to 16-bit PCM WAV.") from exc
    name = os.path.basename(path)
    try:
        with soundfile.SoundFile(path) as handle:
            rate = check_rate(handle.samplerate, name)
            channels = check_channels(handle.channels, name)
            size = os.path.getsize(path)
            # a header may lie, or not know (streamed files): the file's size bounds both the memory
            # reserved and the audio decoded
            blocks = handle.blocks(blocksize=max(1024, READ_BLOCK_FRAMES // channels), dtype="float32",
                                   always_2d=True)
            return _finish(blocks, rate, min(handle.frames, size * MAX_FRAMES_PER_BYTE), path,
                           limit_s=size / MIN_COMPRESSED_BYTES_PER_SECOND)
    except (RuntimeError, OSError, ValueError, EOFError) as exc:  # LibsndfileError is a RuntimeError
        raise AudioError(f"{os.path.basename(path)} is not a readable audio file ({exc}); Lipkit reads WAV, "
                         "FLAC, OGG and MP3: convert it to one of them.") from exc


def load_audio(path) -> Audio:
    """Read an audio file to mono float32 16 kHz `Audio`; raises `AudioError` for unusable files."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioError(f"Audio file not found: {path}")
    if os.path.isdir(path):
        raise AudioError(f"Expected an audio file but got a folder: {path}")
    if os.path.getsize(path) == 0:
        raise AudioError(f"{os.path.basename(path)} is empty (0 bytes).")
    audio = _load_wav(path) if path.lower().endswith((".wav", ".wave")) else None
    if audio is None:
        audio = _load_soundfile(path)
    log.info("loaded %s: %.2f s", path, audio.duration)
    return audio
