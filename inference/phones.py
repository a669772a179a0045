"""Phones with timings from 16 kHz mono audio, through pocketsphinx (offline, bundled en-us model).

- `recognize_phones(samples, mode=...)`: no transcript. Mode "words" (the default) decodes words
  with pocketsphinx's English LM (`en-us.lm.bin`), then force-aligns what it heard, one chunk at a
  time: a misheard word still sounds like the real one, so its phones are mostly right, and the
  aligner times them well. Mode "phones" is the fast "allphone" search with the phone bigram LM
  (`en-us-phone.lm.bin`), context-independent phones: about 5x faster, but it misses far more
  lip closures (see the README's benchmark table).
- `align_phones(samples, transcript)`: forced alignment of known words (pocketsphinx 5's
  `set_align_text` word pass, then the `set_alignment` phone pass). Transcripts are normalised
  (case, punctuation, digits spelled out); words missing from CMUdict get a pronunciation from
  `g2p.letter_to_sound`. A failed alignment is retried with wider beams, then sentence by sentence
  between the clip's pauses; what still fails is recognised instead, and the warnings say which
  part failed and what was used. pocketsphinx's own console logging is off (`DECODER_LOG_LEVEL`).

Both return a `PhoneResult`: `intervals` (tuple of `PhoneInterval`, contiguous from 0 to the end of
the audio, pocketsphinx's SIL and fillers such as +NSN+ / +SPN+ / +BREATH+ as `SILENCE`) and
`warnings` (animator-facing strings). A `PhoneResult` also iterates, indexes and measures like
its list of intervals.

Long audio is split into utterances of at most `MAX_CHUNK_S` at the quietest 10 ms frame near
each boundary, so memory stays bounded; both functions accept the `progress(done, total)` and
`should_cancel()` callbacks of ARCHITECTURE.md (cancelling raises `errors.CancelledError`).

Input: float32 [N] mono at 16 kHz (see `audio.to_mono_16k`). Times are seconds. pocketsphinx
works on 10 ms frames (`FRAME_RATE`), so boundaries are quantised to 10 ms.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np

from .audio import is_silent
from .errors import CancelledError
from .g2p import letter_to_sound
from .phonemes import ARPABET, SILENCE, PhoneInterval

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME_RATE = 100                       # pocketsphinx frames per second (-frate)
FRAME_SAMPLES = SAMPLE_RATE // FRAME_RATE

MAX_CHUNK_S = 30.0                     # longest utterance handed to the decoder in one piece
CHUNK_SEARCH_S = 5.0                   # look this far back from a chunk's end for a quiet cut
MIN_SPEECH_S = 0.1                     # shorter audio is all silence (the decoder needs frames)
NO_SPEECH_WARNING = "No speech was found in the clip; the mouth stays closed."
# Alignment decodes the whole transcript as one utterance; longer clips fall back to recognition.
MAX_ALIGN_S = 600.0
# Audible speech, for silencing phones in quiet stretches (`quiet_stretches`).
SPEECH_BELOW_PEAK_DB = 40.0
SPEECH_ABOVE_NOISE_DB = 12.0
NOISE_PERCENTILE = 10
MIN_PAUSE_S = 0.2        # shorter quiet gaps inside speech may be stop closures: left alone
SPEECH_MARGIN_S = 0.02
MIN_ALIGNED_PHONE_S = 0.03

MODEL_DIR = "en-us/en-us"
DICTIONARY = "en-us/cmudict-en-us.dict"
PHONE_LM = "en-us/en-us-phone.lm.bin"
WORD_LM = "en-us/en-us.lm.bin"
RECOGNITION_MODES = ("words", "phones")
DEFAULT_RECOGNITION = "words"

# Phone recognition (allphone search). Chosen with `benchmarks/phones.py --tune` on festival speech
# (TIMIT is only evaluated, never used to choose). On that set: lw 1.0 beats 2.0/4.0 on frame
# agreement and bilabials; beams of 1e-10 are as accurate as 1e-20/1e-30 and ~20% faster, 1e-5 loses
# 3 points; topn 1 costs nothing measurable; -pip had no effect; ds 2 is 35% faster but loses 10 points.
RECOGNITION_SETTINGS: dict[str, object] = {
    "allphone_ci": True,   # context-independent phones: context-dependent ones are ~40x slower
    "lw": 1.0,             # phone LM weight
    "beam": 1e-10,
    "pbeam": 1e-10,
    "topn": 1,             # Gaussians scored per codebook
    "bestpath": False,
}
# Digital silence (exact zeros, common in rendered and TTS dialogue) is quieter than anything the
# acoustic model saw: the aligner then stretches the first phone over leading silence (175 ms off on
# festival speech). A fixed, seeded noise floor at -80 dBFS RMS (1e-4) fixes that; pocketsphinx's
# own half-bit dither is too quiet to.
NOISE_FLOOR_RMS = 1e-4
NOISE_SEED = 0
# Word decoding: the first (tree) pass only, four Gaussians per codebook. Chosen with
# `benchmarks/phones.py --tune DIR --mode words` on festival speech, where it found 93.5 % of the
# bilabials within 40 ms in 7.2 s per minute of speech; adding the flat-lexicon and lattice passes found
# 87.6 % in 9.3 s, one Gaussian (`topn` 1) 80.4 % in 5.6 s, beams narrowed to 1e-35 81.0 % in 4.4 s.
# Swept again beside a training run (as shipped 93.5 % in 11.7 s): eight Gaussians found 90.8 %, noise
# words made likelier (`fillprob` 0.1) 90.8 %, a lighter language model (`lw` 5 and 4 against 6.5, the
# acoustics weighing more) 92.2 % and 92.8 % in 13.0 s and 18.9 s. On timit_dev, whose sentences the
# language model finds unlikely, `lw` 4 finds more (131 of 142 bilabials against 127, counted as
# benchmarks/review.py counts): a gain on those sentences, not on speech in general, so it is not taken.
WORD_SETTINGS: dict[str, object] = {
    "fwdflat": False,
    "bestpath": False,
}
# Alignment scores one Gaussian per codebook: chosen with `benchmarks/phones.py --tune DIR --mode alignment`
# on festival speech, where it is about 20 % faster than four and as good at the lips (bilabials within
# 40 ms 98.7 % against 98.0 %; boundaries within 20 ms 80 % against 82 %). The wide beams stay: narrowing
# them to 1e-48 .. 1e-30 saved about 8 % of the time but lost a closure (98.0 %). A silence
# probability of 0.3 (pocketsphinx's default is 0.005) lets the aligner put the pauses between words
# that the speaker made: frame agreement 85.6 % against 85.1 %, the closures and the time unchanged;
# 0.05 gave 85.4 %, 1.0 no more than 0.3, a filler probability of 0.1 nothing.
ALIGNMENT_SETTINGS: dict[str, object] = {
    "topn": 1,
    "beam": 1e-60,
    "pbeam": 1e-60,
    "silprob": 0.3,
    "bestpath": False,
}
# When the words pass fails ("Final result does not match the grammar": the path through the
# transcript was pruned), alignment is tried again with far wider beams. On espeak-ng speech of 8
# sentences at 120, 160 and 200 wpm, aligned one clip each, the settings above failed 6 of 24;
# beams of 1e-100 (wbeam 1e-80) 2 of 24; these 0 of 24. They are slower, so only a retry.
ALIGNMENT_RETRY_SETTINGS: dict[str, object] = {**ALIGNMENT_SETTINGS, "beam": 1e-200, "pbeam": 1e-200, "wbeam": 1e-150}
ALIGNERS = ("alignment", "alignment_wide")
# pocketsphinx's C library prints failed searches as "ERROR: ..." lines on the console; those are
# expected here (a retry follows) and would look like a crash, so only fatal ones are printed.
DECODER_LOG_LEVEL = "FATAL"
SENTENCE_END = re.compile(r"[.!?;:]+(?:\s+|$)")

_ARPABET = frozenset(ARPABET)


@dataclass(frozen=True)
class PhoneResult:
    """Phones covering the whole clip, how they were found, and warnings for the animator."""

    intervals: tuple[PhoneInterval, ...]
    warnings: tuple[str, ...] = ()
    method: str = "recognition"        # "recognition" | "alignment" | "partial alignment" | "silence"
    words: tuple[tuple[str, float, float], ...] = field(default=())  # (word, start, end) when aligned
    unaligned_sentences: tuple[int, ...] = ()   # with "partial alignment": the transcript's sentences (from 1) recognised instead

    def __iter__(self) -> Iterator[PhoneInterval]:
        return iter(self.intervals)

    def __len__(self) -> int:
        return len(self.intervals)

    def __getitem__(self, index):
        return self.intervals[index]


# --------------------------------------------------------------------------- decoders

_lock = threading.Lock()
_decoders: dict[str, object] = {}


def _model_path(sub: str) -> str:
    from pocketsphinx import get_model_path
    return get_model_path(sub)


def _decoder(kind: str):
    """A cached pocketsphinx Decoder ("recognition", "words", "alignment" or "alignment_wide");
    call under `_lock`."""
    if kind not in _decoders:
        from pocketsphinx import Decoder
        common = {"hmm": _model_path(MODEL_DIR), "loglevel": DECODER_LOG_LEVEL, "samprate": SAMPLE_RATE}
        if kind == "recognition":
            _decoders[kind] = Decoder(allphone=_model_path(PHONE_LM), dict=_model_path(DICTIONARY),
                                      **common, **RECOGNITION_SETTINGS)
        elif kind == "words":
            _decoders[kind] = Decoder(lm=_model_path(WORD_LM), dict=_model_path(DICTIONARY),
                                      **common, **WORD_SETTINGS)
        else:
            settings = ALIGNMENT_RETRY_SETTINGS if kind == "alignment_wide" else ALIGNMENT_SETTINGS
            _decoders[kind] = Decoder(dict=_model_path(DICTIONARY), **common, **settings)
    return _decoders[kind]


def _pcm16(samples: np.ndarray) -> bytes:
    """float32 [-1, 1] plus the `NOISE_FLOOR_RMS` floor -> little-endian int16 bytes."""
    noise = np.random.default_rng(NOISE_SEED).standard_normal(len(samples), dtype=np.float32) * NOISE_FLOOR_RMS
    floored = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0) + noise
    scaled = np.clip(floored, -1.0, 32767 / 32768) * 32768.0
    return np.round(scaled).astype("<i2").tobytes()


def _decode(decoder, pcm: bytes) -> None:
    # The feature pipeline (cepstral mean, noise estimate) adapts to every utterance it sees; reset
    # it so that the same audio always gives the same phones, whatever was decoded before.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


# --------------------------------------------------------------------------- intervals


def _phone_name(label: str) -> str:
    """pocketsphinx phone/filler label -> a member of `PHONES`."""
    name = label.lower()
    return name if name in _ARPABET else SILENCE


def _contiguous(raw: Sequence[tuple[str, float, float]], duration: float) -> tuple[PhoneInterval, ...]:
    """(phone, start, end) in time order -> intervals tiling [0, duration], silence in gaps, merged."""
    out: list[list] = []

    def add(phone: str, start: float, end: float) -> None:
        if end <= start:
            return
        if out and out[-1][0] == phone and phone == SILENCE:
            out[-1][2] = end
        else:
            out.append([phone, start, end])

    cursor = 0.0
    for phone, start, end in raw:
        start, end = max(start, cursor), min(end, duration)
        if start > cursor:
            add(SILENCE, cursor, start)
        add(phone, start, end)
        cursor = max(cursor, end)
    if cursor < duration:
        add(SILENCE, cursor, duration)
    if not out:
        out.append([SILENCE, 0.0, duration])
    return tuple(PhoneInterval(p, float(s), float(e)) for p, s, e in out)


def _frame_power(samples: np.ndarray) -> np.ndarray:
    """Mean square of each whole 10 ms frame, float64."""
    frames = len(samples) // FRAME_SAMPLES
    return np.square(samples[: frames * FRAME_SAMPLES].astype(np.float64)).reshape(frames, -1).mean(axis=1)


def quiet_stretches(samples: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) seconds where no speech is audible: before the first and after the last loud
    10 ms frame, and inner pauses of at least `MIN_PAUSE_S`. A frame is loud when it is within
    `SPEECH_BELOW_PEAK_DB` of the loudest one and `SPEECH_ABOVE_NOISE_DB` over the noise floor."""
    duration = len(samples) / SAMPLE_RATE
    power = _frame_power(samples)
    if len(power) == 0:
        return []
    noise = np.percentile(power, NOISE_PERCENTILE)
    threshold = max(power.max() * 10.0 ** (-SPEECH_BELOW_PEAK_DB / 10.0), noise * 10.0 ** (SPEECH_ABOVE_NOISE_DB / 10.0))
    loud = np.flatnonzero(power > threshold)
    if len(loud) == 0:
        return []
    stretches = [(0.0, loud[0] / FRAME_RATE)]
    gaps = np.flatnonzero(np.diff(loud) * (1.0 / FRAME_RATE) >= MIN_PAUSE_S)
    stretches += [((loud[i] + 1) / FRAME_RATE, loud[i + 1] / FRAME_RATE) for i in gaps]
    stretches.append(((loud[-1] + 1) / FRAME_RATE, duration))
    return [(a, b) for a, b in stretches if b > a]


def silence_quiet_stretches(raw: Sequence[tuple[str, float, float]],
                            stretches: Sequence[tuple[float, float]]) -> list[tuple[str, float, float]]:
    """Cut recognised phones out of quiet stretches (keeping `SPEECH_MARGIN_S` at their edges for
    onsets and releases): the recogniser emits phones in pauses, holding the mouth open there."""
    pieces = list(raw)
    for quiet_start, quiet_end in stretches:
        low, high = quiet_start + SPEECH_MARGIN_S, quiet_end - SPEECH_MARGIN_S
        if quiet_start <= 0.0:
            low = 0.0
        if high <= low:
            continue
        kept = []
        for phone, start, end in pieces:
            if phone == SILENCE or end <= low or start >= high:
                kept.append((phone, start, end))
                continue
            if start < low:
                kept.append((phone, start, low))
            if end > high:
                kept.append((phone, high, end))
        pieces = kept
    return pieces


def trim_aligned_edges(raw: Sequence[tuple[str, float, float]], stretches: Sequence[tuple[float, float]],
                       duration: float) -> list[tuple[str, float, float]]:
    """Keep aligned phones out of the leading and trailing quiet stretches, which the aligner lets
    the first and last words swallow. A transcript's phone is never deleted: at least
    `MIN_ALIGNED_PHONE_S` of it stays, next to the speech (weak fricatives can be very quiet)."""
    leading = [b for a, b in stretches if a <= 0.0]
    trailing = [a for a, b in stretches if b >= duration]
    low = max(leading[0] - SPEECH_MARGIN_S, 0.0) if leading else 0.0
    high = min(trailing[-1] + SPEECH_MARGIN_S, duration) if trailing else duration
    trimmed = []
    for phone, start, end in raw:
        if phone != SILENCE:
            if start < low:
                start = min(low, end - MIN_ALIGNED_PHONE_S)
            if end > high:
                end = max(high, start + MIN_ALIGNED_PHONE_S)
        trimmed.append((phone, start, end))
    return trimmed


def _chunks(samples: np.ndarray, max_s: float = MAX_CHUNK_S) -> list[tuple[int, int]]:
    """[start, end) sample ranges of at most `max_s`, cut at the quietest 10 ms frame near each end."""
    max_len = int(max_s * SAMPLE_RATE)
    search = int(CHUNK_SEARCH_S * SAMPLE_RATE)
    ranges, start, total = [], 0, len(samples)
    while total - start > max_len:
        lo, hi = start + max_len - search, start + max_len
        cut = lo + int(np.argmin(_frame_power(samples[lo:hi]))) * FRAME_SAMPLES + FRAME_SAMPLES // 2
        ranges.append((start, cut))
        start = cut
    ranges.append((start, total))
    return ranges


def _check_cancel(should_cancel: Callable[[], bool] | None) -> None:
    if should_cancel is not None and should_cancel():
        raise CancelledError("Lip sync cancelled.")


def _validate(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"phones need mono samples [N] at 16 kHz, got shape {samples.shape}")
    return samples


def _silence_result(duration: float, warning: str | None = None) -> PhoneResult:
    return PhoneResult((PhoneInterval(SILENCE, 0.0, duration),), (warning,) if warning else (), "silence")


# --------------------------------------------------------------------------- recognition


def _nothing_to_decode(samples: np.ndarray) -> bool:
    """Too short for the decoder, or silent (`audio.is_silent`): such chunks are not decoded."""
    return len(samples) < MIN_SPEECH_S * SAMPLE_RATE or is_silent(samples)


def _recognize_chunk(decoder, samples: np.ndarray, offset: float) -> list[tuple[str, float, float]]:
    if _nothing_to_decode(samples):
        return []
    _decode(decoder, _pcm16(samples))
    return [(_phone_name(seg.word), offset + seg.start_frame / FRAME_RATE, offset + (seg.end_frame + 1) / FRAME_RATE)
            for seg in (decoder.seg() or ())]


def _is_filler(word: str) -> bool:
    """pocketsphinx's silence and noise entries (<sil>, [NOISE], +NSN+), which are not words."""
    return word.startswith(("<", "[", "+"))


def _word_name(word: str) -> str:
    """A dictionary entry without its alternate-pronunciation mark ("read(2)" -> "read")."""
    return word.split("(")[0]


def _hypothesis_words(decoder) -> list[str]:
    """The words the last decode heard."""
    return [_word_name(seg.word) for seg in (decoder.seg() or ()) if not _is_filler(seg.word)]


def _timed(alignment, offset: float = 0.0):
    """(phones, words) of an alignment as (name, start, end) in seconds, shifted by `offset`."""
    def span(entry):
        return offset + entry.start / FRAME_RATE, offset + (entry.start + entry.duration) / FRAME_RATE

    phones = [(_phone_name(p.name), *span(p)) for p in alignment.phones()]
    words = [(_word_name(w.name), *span(w)) for w in alignment.words() if not _is_filler(w.name)]
    return phones, words


def _transcribe_chunk(samples: np.ndarray, offset: float):
    """(phones, words) of one chunk: its words decoded, then aligned; allphone when that fails.
    Call under `_lock`."""
    if _nothing_to_decode(samples):
        return [], []
    pcm = _pcm16(samples)
    decoder = _decoder("words")
    _decode(decoder, pcm)
    words = _hypothesis_words(decoder)
    aligned = _align_words(samples, words, offset) if words else None
    if aligned is None:
        return _recognize_chunk(_decoder("recognition"), samples, offset), []
    return aligned


def recognize_phones(samples: np.ndarray, progress: Callable[[int, int], None] | None = None,
                     should_cancel: Callable[[], bool] | None = None, mode: str = DEFAULT_RECOGNITION) -> PhoneResult:
    """Phones recognised in float32 mono 16 kHz `samples` (no transcript), tiling the whole clip.

    `mode`: "words" (decode words, then align them) or "phones" (allphone search, faster)."""
    if mode not in RECOGNITION_MODES:
        raise ValueError(f"unknown recognition mode {mode!r}; choose from {', '.join(RECOGNITION_MODES)}")
    samples = _validate(samples)
    duration = len(samples) / SAMPLE_RATE
    if _nothing_to_decode(samples):
        return _silence_result(duration, NO_SPEECH_WARNING)
    ranges = _chunks(samples)
    raw: list[tuple[str, float, float]] = []
    words: list[tuple[str, float, float]] = []
    with _lock:
        for index, (start, end) in enumerate(ranges):
            _check_cancel(should_cancel)
            chunk, offset = samples[start:end], start / SAMPLE_RATE
            if mode == "phones":
                raw.extend(_recognize_chunk(_decoder("recognition"), chunk, offset))
            else:
                chunk_phones, chunk_words = _transcribe_chunk(chunk, offset)
                raw.extend(chunk_phones)
                words.extend(chunk_words)
            if progress is not None:
                progress(index + 1, len(ranges))
    intervals = _contiguous(silence_quiet_stretches(raw, quiet_stretches(samples)), duration)
    if all(item.phone == SILENCE for item in intervals):
        return PhoneResult(intervals, (NO_SPEECH_WARNING,), "silence")
    return PhoneResult(intervals, (), "recognition", tuple(words))


# --------------------------------------------------------------------------- transcripts

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"), (100, "hundred"))
MAX_SPOKEN_NUMBER = 10 ** 12           # larger digit strings are read digit by digit


def number_to_words(number: int) -> list[str]:
    """English words for a non-negative integer ("1984" -> nineteen-style is not attempted)."""
    if number < 20:
        return [_ONES[number]]
    if number < 100:
        tens, ones = divmod(number, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    for scale, name in _SCALES:
        if number >= scale:
            high, rest = divmod(number, scale)
            return number_to_words(high) + [name] + (number_to_words(rest) if rest else [])
    return []  # unreachable


def _digits_to_words(digits: str) -> list[str]:
    if len(digits) > 1 and digits.startswith("0") or int(digits) >= MAX_SPOKEN_NUMBER:
        return [_ONES[int(d)] for d in digits]
    return number_to_words(int(digits))


_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+")


def normalize_transcript(text: str) -> list[str]:
    """Lowercase words with punctuation removed and digits spelled out ("Take 2!" -> take two)."""
    text = text.lower().replace("\u2019", "'").replace("&", " and ").replace("%", " percent ")
    text = re.sub(r"(\d),(\d)", r"\1\2", text)       # 1,000 -> 1000
    words: list[str] = []
    for token in _TOKEN_RE.findall(text):
        words.extend(_digits_to_words(token) if token.isdigit() else [token])
    return words


def _ensure_in_dictionary(decoder, words: list[str]) -> tuple[list[str], list[str]]:
    """(words the decoder knows, out-of-dictionary words given a rule pronunciation)."""
    usable, guessed = [], []
    for word in words:
        if decoder.lookup_word(word) is not None:
            usable.append(word)
            continue
        phones = letter_to_sound(word)
        if not phones:
            continue
        decoder.add_word(word, " ".join(p.upper() for p in phones), True)
        guessed.append(word)
        usable.append(word)
    return usable, guessed


# --------------------------------------------------------------------------- alignment


def _align(decoder, pcm: bytes, words: list[str]):
    """Run the word pass and the phone pass; the Alignment, or None when the words do not fit."""
    try:
        decoder.set_align_text(" ".join(words))
        _decode(decoder, pcm)
        if decoder.hyp() is None:
            return None
        decoder.set_alignment()
        _decode(decoder, pcm)
        return decoder.get_alignment()
    except RuntimeError as exc:
        log.info("alignment failed: %s", exc)
        return None


def _align_words(samples: np.ndarray, words: list[str], offset: float = 0.0):
    """(phones, words) of `words` aligned to `samples`, trying each of `ALIGNERS` (the default
    beams, then wider ones) until one succeeds; None when none does. Call under `_lock`."""
    pcm = _pcm16(samples)
    for kind in ALIGNERS:
        decoder = _decoder(kind)
        usable, _ = _ensure_in_dictionary(decoder, words)
        alignment = _align(decoder, pcm, usable) if usable else None
        if alignment is not None:
            phones, aligned_words = _timed(alignment, offset)
            if phones:
                return phones, aligned_words
    return None


def split_sentences(transcript: str) -> list[list[str]]:
    """The transcript's sentences (split at . ! ? ; :), each normalised; empty ones dropped."""
    sentences = [normalize_transcript(part) for part in SENTENCE_END.split(transcript or "")]
    return [words for words in sentences if words]


def sentence_cuts(samples: np.ndarray, count: int) -> list[int] | None:
    """Sample positions cutting the clip into `count` parts in the middle of its `count - 1` longest
    inner pauses (in time order); None when the clip has fewer pauses than that."""
    duration = len(samples) / SAMPLE_RATE
    inner = [(a, b) for a, b in quiet_stretches(samples) if a > 0.0 and b < duration]
    if len(inner) < count - 1:
        return None
    longest = sorted(sorted(inner, key=lambda pause: pause[1] - pause[0], reverse=True)[:count - 1])
    return [int((a + b) / 2 * SAMPLE_RATE) for a, b in longest]


def _preview(words: list[str], limit: int = 6) -> str:
    return " ".join(words[:limit]) + (" ..." if len(words) > limit else "")


def _align_by_sentence(samples: np.ndarray, transcript: str):
    """Sentence by sentence between the clip's pauses: (phones, words, failed parts), failed parts
    as (sentence number, its words, start, end sample); None when the clip cannot be split so.
    Call under `_lock`."""
    sentences = split_sentences(transcript)
    cuts = sentence_cuts(samples, len(sentences)) if len(sentences) > 1 else None
    if cuts is None:
        return None
    bounds = [0] + cuts + [len(samples)]
    phones, words, failed = [], [], []
    for number, (sentence, start, end) in enumerate(zip(sentences, bounds[:-1], bounds[1:]), start=1):
        aligned = _align_words(samples[start:end], sentence, start / SAMPLE_RATE)
        if aligned is None:
            failed.append((number, sentence, start, end))
            continue
        phones.extend(aligned[0])
        words.extend(aligned[1])
    if len(failed) == len(sentences):
        return None
    return phones, words, failed


def align_phones(samples: np.ndarray, transcript: str, progress: Callable[[int, int], None] | None = None,
                 should_cancel: Callable[[], bool] | None = None) -> PhoneResult:
    """Phones of `transcript` force-aligned to float32 mono 16 kHz `samples`, tiling the whole clip.

    Alignment is tried on the whole clip (default beams, then wider ones: `ALIGNERS`), then sentence
    by sentence between the clip's pauses; a sentence that still fails has its words recognised
    there, and the warnings say which sentence and what was used instead.
    Never raises for a bad transcript: an empty one, one that does not match the audio, or a clip
    longer than `MAX_ALIGN_S` gives recognised words with a warning saying why.
    """
    samples = _validate(samples)
    duration = len(samples) / SAMPLE_RATE
    words = normalize_transcript(transcript or "")

    def fallback(reason: str) -> PhoneResult:
        log.info(reason)      # the reason is returned in the warnings too
        result = recognize_phones(samples, progress, should_cancel)
        return PhoneResult(result.intervals, (reason,) + result.warnings, result.method)

    recognised = "the words were recognised from the audio instead (less exact lip closures)"
    if not words:
        return fallback(f"The transcript has no words; {recognised}.")
    if _nothing_to_decode(samples):
        return _silence_result(duration, NO_SPEECH_WARNING + " The transcript was not used.")
    if duration > MAX_ALIGN_S:
        return fallback(f"The clip is longer than {MAX_ALIGN_S / 60:.0f} minutes, too long to align "
                        f"in one piece; {recognised}. Split the dialogue into shorter clips "
                        "to use the transcript.")
    _check_cancel(should_cancel)
    warnings: list[str] = []
    failed: list = []
    with _lock:
        _, guessed = _ensure_in_dictionary(_decoder(ALIGNERS[0]), words)
        if guessed:
            warnings.append("Not in the dictionary, pronounced by rule: " + ", ".join(dict.fromkeys(guessed)) + ".")
        aligned = _align_words(samples, words)
        if aligned is None:
            by_sentence = _align_by_sentence(samples, transcript)
            if by_sentence is not None:
                aligned, failed = by_sentence[:2], by_sentence[2]
    if aligned is None:
        result = fallback("The transcript does not match the audio: alignment failed on the whole clip "
                          f"(also with wider beams) and sentence by sentence; {recognised}.")
        return PhoneResult(result.intervals, tuple(warnings) + result.warnings, result.method)
    raw, aligned_words = aligned
    method = "alignment"
    for number, sentence, start, end in failed:
        _check_cancel(should_cancel)
        part = recognize_phones(samples[start:end])
        offset = start / SAMPLE_RATE
        raw.extend((p.phone, p.start + offset, p.end + offset) for p in part.intervals if p.phone != SILENCE)
        warnings.append(f"Sentence {number} of the transcript (\"{_preview(sentence)}\") could not be aligned to "
                        f"{offset:.1f}-{end / SAMPLE_RATE:.1f} s of the audio; its words were recognised there "
                        "instead (less exact lip closures). The other sentences are aligned.")
        method = "partial alignment"
    if progress is not None:
        progress(1, 1)
    raw = sorted(raw, key=lambda item: item[1])
    raw = trim_aligned_edges(raw, quiet_stretches(samples), duration)
    return PhoneResult(_contiguous(raw, duration), tuple(warnings), method, tuple(aligned_words),
                       tuple(number for number, *_ in failed))
