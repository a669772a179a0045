"""Phone recognition and alignment: boundary accuracy and speed (prints markdown).

    .venv/bpy-5.0/bin/python benchmarks/phones.py                # TIMIT dev sample (evaluation only)
    .venv/bpy-5.0/bin/python benchmarks/phones.py --tune DIR [--mode words|phones|alignment]
                                     # decoder-setting sweep on festival speech (made in DIR if empty)

Evaluation uses ../shared/data/speech/timit_dev (or $LIPKIT_SHARED_DATA): hand-labelled phones
(`.phn`, folded to ARPAbet 39 + silence by `read_timit_phn`) and transcripts (`.txt`). TIMIT is
never used to choose settings; `--tune` sweeps them on festival-synthesised sentences whose phone
timings festival reports itself (DIR holds sN.wav / sN.seg / sN.txt, see `make_festival_set`).

Figures:
- frame agreement: share of 10 ms frames whose phone equals the reference phone;
- bilabial hit rate: share of reference p/b/m segments (closures folded in) with a predicted
  p/b/m segment overlapping [start - 40 ms, end + 40 ms];
- boundary error: median |predicted - reference| boundary time for aligned phones (alignment
  only, when the phone sequences match word for word this is the classic boundary accuracy), and
  share within 20 ms;
- speed: seconds of compute per 60 s of speech.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference import phones as phones_mod  # noqa: E402
from inference.audio import load_audio  # noqa: E402
from inference.phonemes import SILENCE, PHONES, PhoneInterval, read_timit_phn  # noqa: E402

FRAME_S = 0.01
BILABIALS = frozenset({"p", "b", "m"})
BILABIAL_TOLERANCE_S = 0.040
MISTIMED_S = 0.150          # a missed bilabial with a predicted p/b/m this near was heard, but mistimed
MISTIMED = "mistimed"
BOUNDARY_TOLERANCE_S = 0.020

FESTIVAL_TO_ARPABET = {"pau": SILENCE, "ax": "ah", "h#": SILENCE}


def frames(intervals, duration: float) -> np.ndarray:
    """Phone label per 10 ms frame (centre sampling) as indices into PHONES."""
    n = int(round(duration / FRAME_S))
    labels = np.full(n, PHONES.index(SILENCE))
    centres = (np.arange(n) + 0.5) * FRAME_S
    for item in intervals:
        labels[(centres >= item.start) & (centres < item.end)] = PHONES.index(item.phone)
    return labels


def frame_agreement(predicted, reference, duration: float) -> tuple[int, int]:
    a, b = frames(predicted, duration), frames(reference, duration)
    return int(np.sum(a == b)), len(a)


def bilabial_segments(reference) -> list[tuple[float, float]]:
    """(start, end) of the reference's bilabials, touching ones merged (a closure + its release is one)."""
    merged: list[list[float]] = []
    for item in reference:
        if item.phone in BILABIALS:
            if merged and abs(merged[-1][1] - item.start) < 1e-6:
                merged[-1][1] = item.end
            else:
                merged.append([item.start, item.end])
    return [(start, end) for start, end in merged]


def _near(found, start: float, end: float, tolerance: float) -> bool:
    return any(p.start < end + tolerance and p.end > start - tolerance for p in found)


def bilabial_hits(predicted, reference) -> tuple[int, int]:
    """(hits, total) over merged reference bilabial segments (a closure + its release count once)."""
    found = [p for p in predicted if p.phone in BILABIALS]
    segments = bilabial_segments(reference)
    return sum(_near(found, start, end, BILABIAL_TOLERANCE_S) for start, end in segments), len(segments)


def unlabelled_bilabials(predicted, reference) -> int:
    """How many predicted p/b/m (touching ones merged) have no reference bilabial within
    `BILABIAL_TOLERANCE_S`: bilabials heard that were not said."""
    segments = [PhoneInterval("b", start, end) for start, end in bilabial_segments(reference)]
    return sum(not _near(segments, start, end, BILABIAL_TOLERANCE_S) for start, end in bilabial_segments(predicted))


def missed_bilabials(predicted, reference) -> list[tuple[float, float, str]]:
    """The reference bilabial segments with no predicted p/b/m within `BILABIAL_TOLERANCE_S`, each as
    (start, end, why): `MISTIMED` when a predicted p/b/m lies within `MISTIMED_S` (the recogniser
    heard it, the timing is off), else the predicted phone at the segment's middle (it heard that)."""
    found = [p for p in predicted if p.phone in BILABIALS]
    missed = []
    for start, end in bilabial_segments(reference):
        if _near(found, start, end, BILABIAL_TOLERANCE_S):
            continue
        middle = 0.5 * (start + end)
        heard = next((p.phone for p in predicted if p.start <= middle < p.end), SILENCE)
        missed.append((start, end, MISTIMED if _near(found, start, end, MISTIMED_S) else heard))
    return missed


def merged_sequence(intervals) -> list[PhoneInterval]:
    """Adjacent identical phones merged (TIMIT's closure + release become one stop)."""
    out: list[PhoneInterval] = []
    for item in intervals:
        if out and out[-1].phone == item.phone:
            out[-1] = PhoneInterval(item.phone, out[-1].start, item.end)
        else:
            out.append(item)
    return out


def boundary_errors(predicted, reference) -> list[float]:
    """|Δ| of phone-start boundaries, matched along an edit-distance alignment of the sequences."""
    a, b = merged_sequence(predicted), merged_sequence(reference)
    n, m = len(a), len(b)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1,
                             cost[i - 1, j - 1] + (a[i - 1].phone != b[j - 1].phone))
    errors, i, j = [], n, m
    while i > 0 and j > 0:
        if cost[i, j] == cost[i - 1, j - 1] + (a[i - 1].phone != b[j - 1].phone):
            if a[i - 1].phone == b[j - 1].phone and i > 1 and j > 1:
                errors.append(abs(a[i - 1].start - b[j - 1].start))
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return errors


def read_festival_seg(path) -> list[PhoneInterval]:
    out = []
    for line in Path(path).read_text().splitlines():
        name, start, end = line.split()
        phone = FESTIVAL_TO_ARPABET.get(name, name)
        out.append(PhoneInterval(phone if phone in PHONES else SILENCE, float(start), float(end)))
    return out


class Totals:
    def __init__(self):
        self.agree = self.frames = self.hits = self.bilabials = 0
        self.seconds = self.audio = 0.0
        self.boundaries: list[float] = []
        self.fallbacks = 0

    def add(self, predicted, reference, duration, seconds):
        agree, count = frame_agreement(predicted, reference, duration)
        hits, total = bilabial_hits(predicted, reference)
        self.agree += agree
        self.frames += count
        self.hits += hits
        self.bilabials += total
        self.seconds += seconds
        self.audio += duration
        self.boundaries.extend(boundary_errors(predicted, reference))

    def row(self, name: str) -> str:
        bounds = np.array(self.boundaries) if self.boundaries else np.array([np.nan])
        return (f"| {name} | {100 * self.agree / max(1, self.frames):.1f}% | "
                f"{100 * self.hits / max(1, self.bilabials):.1f}% ({self.hits}/{self.bilabials}) | "
                f"{1000 * np.median(bounds):.0f} ms | {100 * np.mean(bounds <= BOUNDARY_TOLERANCE_S):.0f}% | "
                f"{60 * self.seconds / max(self.audio, 1e-9):.2f} s |")


HEADER = ("| method | frame agreement | bilabials within ±40 ms | median boundary error | boundaries ≤ 20 ms "
          "| compute per 60 s |\n|---|---|---|---|---|---|")


def timit_items(root: Path):
    for phn in sorted(root.glob("*/*.phn")):
        yield phn.with_suffix(".wav"), phn, phn.with_suffix(".txt")


def evaluate(items, reader, limit: int | None = None, modes=phones_mod.RECOGNITION_MODES) -> tuple[dict, Totals]:
    """({recognition mode: Totals}, alignment Totals) over `items`."""
    rec, ali = {mode: Totals() for mode in modes}, Totals()
    warm = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    for mode in modes:                                            # load the decoders outside timing
        phones_mod.recognize_phones(warm, mode=mode)
    phones_mod.align_phones(warm, "a")
    for count, (wav, ref_path, txt) in enumerate(items):
        if limit is not None and count >= limit:
            break
        audio = load_audio(wav)
        reference = reader(ref_path)
        text = " ".join(Path(txt).read_text().split()[2:]) if reader is read_timit_phn else Path(txt).read_text()
        for mode in modes:
            start = time.perf_counter()
            predicted = phones_mod.recognize_phones(audio.samples, mode=mode)
            rec[mode].add(predicted, reference, audio.duration, time.perf_counter() - start)
        start = time.perf_counter()
        aligned = phones_mod.align_phones(audio.samples, text)
        ali.add(aligned, reference, audio.duration, time.perf_counter() - start)
        ali.fallbacks += aligned.method != "alignment"
    return rec, ali


def shared_root() -> Path:
    here = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("LIPKIT_SHARED_DATA", here.parent / "shared" / "data"))


def report(title: str, rec: dict, ali: Totals) -> None:
    print(f"\n### {title} ({ali.audio:.0f} s of speech)\n")
    print(HEADER)
    print(rec["words"].row("recognition, words decoded then aligned"))
    print(rec["phones"].row("recognition, allphone"))
    print(ali.row("alignment (transcript)"))
    print(f"\nalignment fell back to recognition on {ali.fallbacks} utterance(s)")


def make_festival_set(folder: Path, sentences: list[str], voices: list[str]) -> None:
    """Synthesise sentences with festival, saving sN.wav, sN.seg (phone start end), sN.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(sentences):
        script = folder / f"s{i}.scm"
        script.write_text(
            f"({voices[i % len(voices)]})\n(set! utt (utt.synth (Utterance Text \"{text}\")))\n"
            "(utt.wave.resample utt 16000)\n"
            f"(utt.save.wave utt \"{folder / f's{i}.wav'}\" 'riff)\n"
            "(mapcar (lambda (x) (format t \"S %s %f %f\\n\" (item.name x) (item.feat x 'segment_start) "
            "(item.feat x 'segment_end))) (utt.relation.items utt 'Segment))\n")
        out = subprocess.run(["festival", "-b", str(script)], capture_output=True, text=True).stdout
        (folder / f"s{i}.seg").write_text("\n".join(line[2:] for line in out.splitlines() if line.startswith("S ")))
        (folder / f"s{i}.txt").write_text(text)


TUNE_GRID: list[dict] = [
    {},
    {"lw": 1.0}, {"lw": 4.0},
    {"pip": 0.1}, {"pip": 1.0},
    {"beam": 1e-10, "pbeam": 1e-10}, {"beam": 1e-30, "pbeam": 1e-30},
    {"topn": 1}, {"topn": 4},
    {"ds": 2},
    {"lw": 1.0, "beam": 1e-10, "pbeam": 1e-10, "topn": 1},
    {"lw": 1.0, "beam": 1e-10, "pbeam": 1e-10, "topn": 1, "ds": 2},
    {"lw": 1.0, "beam": 1e-5, "pbeam": 1e-5, "topn": 1},
]


# Word decoding, against `phones.WORD_SETTINGS`: one Gaussian per codebook instead of four or eight, the
# three passes (tree, flat lexicon, lattice best path) instead of the first, narrower beams, caps on the
# search (HMMs and words per frame, a longer phone lookahead), a lighter language model (the acoustics
# weigh more) and noise words ([NOISE], [SPEECH]) made likelier.
WORD_TUNE_GRID: list[dict] = [
    {},
    {"topn": 1}, {"topn": 8},
    {"fwdflat": True, "bestpath": True},
    {"beam": 1e-35, "wbeam": 1e-22, "pbeam": 1e-35},
    {"maxhmmpf": 3000, "maxwpf": 20, "pl_window": 10},
    {"maxhmmpf": 1500, "maxwpf": 10, "pl_window": 10},
    {"lw": 5.0}, {"lw": 4.0},
    {"fillprob": 0.1},
]
# Forced alignment, against `phones.ALIGNMENT_SETTINGS`: Gaussians per codebook, narrower beams, the
# probability of a pause between words (pocketsphinx's default 0.005 included) and of fillers.
ALIGNMENT_TUNE_GRID: list[dict] = [{"topn": 4}, {"topn": 2}, {}, {"beam": 1e-48, "pbeam": 1e-48},
                                   {"beam": 1e-40, "pbeam": 1e-40}, {"beam": 1e-30, "pbeam": 1e-30},
                                   {"silprob": 0.005}, {"silprob": 0.05}, {"silprob": 1.0},
                                   {"fillprob": 0.1}]
TUNE_SENTENCES = 40
TUNE_VOICES = ["voice_kal_diphone", "voice_ked_diphone", "voice_cmu_us_slt_arctic_hts"]


def tune(folder: Path, mode: str) -> None:
    """Sweep one decoder's settings (`mode`: words, phones or alignment) on festival speech."""
    if not any(folder.glob("s*.wav")):
        from training.sentences import sentences
        make_festival_set(folder, sentences(TUNE_SENTENCES, seed=2027), TUNE_VOICES)
    items = [(wav, wav.with_suffix(".seg"), wav.with_suffix(".txt")) for wav in sorted(folder.glob("s*.wav"))]
    settings, grid = {"words": (phones_mod.WORD_SETTINGS, WORD_TUNE_GRID),
                      "phones": (phones_mod.RECOGNITION_SETTINGS, TUNE_GRID),
                      "alignment": (phones_mod.ALIGNMENT_SETTINGS, ALIGNMENT_TUNE_GRID)}[mode]
    base = dict(settings)
    print(HEADER)
    for change in grid:
        settings.clear()
        settings.update({**base, **change})
        phones_mod._decoders.clear()
        rec, ali = evaluate(items, read_festival_seg, modes=() if mode == "alignment" else (mode,))
        print((ali if mode == "alignment" else rec[mode]).row(f"{mode} {change or 'as shipped'}"), flush=True)
    settings.clear()
    settings.update(base)
    phones_mod._decoders.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tune", type=Path, help="folder of festival sN.wav/sN.seg/sN.txt to sweep settings on")
    parser.add_argument("--mode", choices=phones_mod.RECOGNITION_MODES + ("alignment",), default="words",
                        help="with --tune: which decoder's settings to sweep")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only this many TIMIT utterances")
    args = parser.parse_args()
    if args.tune:
        tune(args.tune, args.mode)
        return
    root = shared_root() / "speech" / "timit_dev"
    if not root.is_dir():
        print(f"TIMIT sample not found at {root}; set LIPKIT_SHARED_DATA")
        return
    rec, ali = evaluate(list(timit_items(root)), read_timit_phn, args.limit)
    report("TIMIT dev sample, hand-labelled phones", rec, ali)
    print(f"\nsettings: words {phones_mod.WORD_SETTINGS}; allphone {phones_mod.RECOGNITION_SETTINGS}; "
          f"alignment {phones_mod.ALIGNMENT_SETTINGS}")


if __name__ == "__main__":
    main()
