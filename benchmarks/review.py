"""Does the review (`inference.review`) find the frames an animator must look at? Scored on TIMIT.

    .venv/bpy-5.0/bin/python benchmarks/review.py [--data DIR] [--face DIR] [--fps 30] [--out DIR]

Truth comes from the hand-labelled phones and the reference face (`benchmarks.lipmetrics`):
- a missed closure is a hand-labelled bilabial whose smallest aperture within 40 ms is above 1.5 mm;
- an open silence is a labelled silence of 300 ms or more whose middle (100 ms in from each end)
  has the lips more than 3 mm apart (REST's threshold) in over half of its frames.

The review sees no transcript and no labels. Its phones come from the recogniser the review ships
with (`inference.review.REVIEW_RECOGNITION`); the benchmark first measures every recogniser and
says which is the fastest whose p/b/m lie within 40 ms of at least 90 % of the labelled bilabials
(`benchmarks.phones.bilabial_hits`), whether that is the one shipped, why each recogniser missed
the others (`benchmarks.phones.missed_bilabials`: mistimed, a p/b/m 40-150 ms away, or misheard,
with the phone it heard instead) and how many p/b/m it heard where none is labelled
(`benchmarks.phones.unlabelled_bilabials`); per speaker, the shipped one's two counts. Its
geometry is the default the review ships (`inference.lips.DEFAULT_LIPS`, the demo head's lips),
not the face the truth is measured on, as for a character the review knows nothing of. It
reviews three sets of takes:
- the amplitude baseline's curves (`benchmarks.quality.make_amplitude`);
- the regression model's curves (lips only);
- those two with defects planted by a seeded script, `PLANTED_COPIES` copies of each: closures
  removed at random labelled bilabials, the mouth opened in random labelled silences, and a jump
  added to each utterance (a one-frame spike on a random mouth channel).

A finding matches a truth event when their times overlap within 40 ms (closures) or at all
(silences); "forced open" counts as a missed closure. Precision is the share of findings that
match a true event, recall the share of true events some finding matches; "where none is
labelled" counts the findings with no labelled event of the kind near them at all (bilabials too
short for the truth, under 30 ms, count as labelled). Printed per set, per speaker (all sets
pooled) and pooled; then the time to review 60 s of speech (phones given) and the jumps found
among the planted ones. The last line is the pooled figures:
`review: missed closures precision P recall R; open in silence precision P recall R`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import lipmetrics, quality  # noqa: E402
from benchmarks.phones import (BILABIAL_TOLERANCE_S, MISTIMED, MISTIMED_S, bilabial_hits,  # noqa: E402
                               missed_bilabials, unlabelled_bilabials)
from inference import arkit, review  # noqa: E402
from inference import phones as phones_mod  # noqa: E402
from inference.curves import Curves  # noqa: E402
from inference.phonemes import PhoneInterval, read_timit_phn  # noqa: E402

DEFAULT_OUT = quality.REPO_ROOT / "out" / "benchmarks" / "review"
RECOGNISERS = ("phones", "words")         # inference.phones recognition modes, no transcript
BILABIAL_BAR = 0.90
MATCH_TOLERANCE_S = 0.040
PLANTED_COPIES = 4                         # per base set (amplitude, regression)
PLANT_SEED = 0
CLOSURE_PLANT_SHARE = 0.5                  # of the labelled bilabials where the base take closes
SILENCE_PLANT_SHARE = 0.8                  # of the labelled silences of 300 ms or more
PLANT_JAW = 0.35                           # jawOpen at a removed closure or in an opened silence
PLANT_RAMP_S = 0.08                        # the planted openings ease in and out over this
JUMP_SIZE = 0.5
REVIEW_SECONDS = 60.0
REVIEW_REPEATS = 5
CLOSING_CHANNELS = ("mouthClose", "mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper")


@dataclass
class Counts:
    """True positives among findings, findings, true events found, true events; per kind."""

    found_true: int = 0
    found: int = 0
    recalled: int = 0
    events: int = 0
    nowhere: int = 0           # findings where the labels have no event of the kind at all

    def add(self, other: "Counts") -> None:
        self.found_true += other.found_true
        self.found += other.found
        self.recalled += other.recalled
        self.events += other.events
        self.nowhere += other.nowhere

    @property
    def precision(self) -> float:
        return self.found_true / self.found if self.found else float("nan")

    @property
    def recall(self) -> float:
        return self.recalled / self.events if self.events else float("nan")

    def text(self) -> str:
        return (f"precision {self.precision:.2f} ({self.found_true}/{self.found}, {self.nowhere} where none is "
                f"labelled) recall {self.recall:.2f} ({self.recalled}/{self.events})")


@dataclass
class Score:
    closures: Counts = field(default_factory=Counts)
    silences: Counts = field(default_factory=Counts)

    def add(self, other: "Score") -> None:
        self.closures.add(other.closures)
        self.silences.add(other.silences)


# --------------------------------------------------------------------------- phones


def recognised_phones(wavs: list[Path], mode: str, cache_dir: Path) -> tuple[list, float]:
    """Each utterance's recognised (phones, words) in `mode` and the seconds recognition took in
    all, cached in `cache_dir/phones_<mode>.json` (delete it to measure again)."""
    cache = cache_dir / f"phones_{mode}.json"
    stored = json.loads(cache.read_text()) if cache.exists() else {}
    results, seconds = [], 0.0
    for wav in wavs:
        key = quality.utterance_id(wav)
        if key not in stored:
            samples = quality.read_wav(wav)
            t0 = time.perf_counter()
            result = phones_mod.recognize_phones(samples, mode=mode)
            stored[key] = {"seconds": time.perf_counter() - t0,
                           "phones": [[p.phone, p.start, p.end] for p in result.intervals],
                           "words": [list(w) for w in result.words]}
            cache_dir.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(stored))
        entry = stored[key]
        seconds += entry["seconds"]
        results.append(([PhoneInterval(*p) for p in entry["phones"]], [tuple(w) for w in entry["words"]]))
    return results, seconds


@dataclass
class Heard:
    """Labelled bilabials (`benchmarks.phones` segments) with a recognised p/b/m within 40 ms, of all
    of them, and recognised p/b/m with no labelled bilabial within 40 ms (heard, not said)."""

    hits: int = 0
    total: int = 0
    unlabelled: int = 0

    def add(self, other: "Heard") -> None:
        self.hits += other.hits
        self.total += other.total
        self.unlabelled += other.unlabelled


@dataclass
class Recogniser:
    """One recogniser's phones for each utterance, and how they find the labelled bilabials."""

    found: list                 # per utterance: (phones, words)
    per_minute: float           # seconds of recognition per 60 s of audio
    heard: Heard = field(default_factory=Heard)
    speakers: dict = field(default_factory=dict)   # speaker -> Heard
    misses: Counter = field(default_factory=Counter)   # why: MISTIMED, or the phone heard instead
    event_hits: int = 0         # the truth's bilabial events (lipmetrics, 30 ms or more) heard
    events: int = 0

    @property
    def hits(self) -> int:
        return self.heard.hits

    @property
    def total(self) -> int:
        return self.heard.total

    def misses_text(self) -> str:
        """"missed 15: 1 mistimed (...), 14 misheard (heard instead: dh 3, n 2, ...)"."""
        mistimed = self.misses.get(MISTIMED, 0)
        heard = Counter({phone: n for phone, n in self.misses.items() if phone != MISTIMED})
        instead = ", ".join(f"{phone} {n}" for phone, n in heard.most_common())
        return (f"missed {self.total - self.hits}: {mistimed} mistimed (a p/b/m {1000 * BILABIAL_TOLERANCE_S:.0f}-"
                f"{1000 * MISTIMED_S:.0f} ms away), {sum(heard.values())} misheard"
                + (f" (heard instead: {instead})" if instead else ""))


def measure_recogniser(wavs: list[Path], mode: str, cache_dir: Path) -> Recogniser:
    """`mode`'s figures on `wavs` (its phones cached as `recognised_phones` says)."""
    audio = sum(quality.audio_duration(wav) for wav in wavs)
    found, seconds = recognised_phones(wavs, mode, cache_dir)
    figures = Recogniser(found, seconds * 60.0 / audio)
    for wav, (phones, _) in zip(wavs, found):
        reference = read_timit_phn(wav.with_suffix(".phn"))
        heard = Heard(*bilabial_hits(phones, reference), unlabelled_bilabials(phones, reference))
        figures.heard.add(heard)
        figures.speakers.setdefault(wav.parent.name, Heard()).add(heard)
        figures.misses.update(why for _, _, why in missed_bilabials(phones, reference))
        spans = [(s, e) for _, s, e in review.merged(phones, review.BILABIALS)]
        truth_events = lipmetrics.bilabial_events(lipmetrics.read_phn_labels(wav.with_suffix(".phn")))
        figures.event_hits += sum(any(_overlaps(b, t, MATCH_TOLERANCE_S) for b in spans) for t in truth_events)
        figures.events += len(truth_events)
    return figures


def choose_recogniser(figures: dict[str, Recogniser]) -> str:
    """The fastest recogniser finding at least `BILABIAL_BAR` of the bilabials; when none does, the
    one finding the most."""
    good = [mode for mode, f in figures.items() if f.hits >= BILABIAL_BAR * f.total]
    if good:
        return min(good, key=lambda mode: figures[mode].per_minute)
    return max(figures, key=lambda mode: figures[mode].hits / figures[mode].total)


# --------------------------------------------------------------------------- truth and planting


def truth(face, curves: Curves, labels) -> tuple[list, list, list, list]:
    """(missed closures, closed bilabials, open silences, resting silences): (start, end) lists."""
    weights = curves.select(face.channels).values
    times = np.arange(len(weights)) / curves.fps
    aperture = face.measure(weights)[0]
    missed, closed = [], []
    for t0, t1 in lipmetrics.bilabial_events(labels):
        idx = lipmetrics.frames_in(times, t0 - lipmetrics.BIL40_TOL_S, t1 + lipmetrics.BIL40_TOL_S)
        (missed if aperture[idx].min() > lipmetrics.CLOSE_MM else closed).append((t0, t1))
    open_, resting = [], []
    for lab in labels:
        if lab.label not in lipmetrics.SILENCES or lab.duration < lipmetrics.REST_MIN_S - 1e-9:
            continue
        idx = np.flatnonzero((times >= lab.start + lipmetrics.REST_EDGE_S) & (times <= lab.end - lipmetrics.REST_EDGE_S))
        if len(idx) and (aperture[idx] > lipmetrics.REST_MM).mean() > 0.5:
            open_.append((lab.start, lab.end))
        else:
            resting.append((lab.start, lab.end))
    return missed, closed, open_, resting


def short_bilabials(labels) -> list[tuple[float, float]]:
    """Labelled bilabials (touching ones merged) shorter than the truth's `lipmetrics.BIL_MIN_S`: the
    truth has no verdict on them, but a finding there is not one "where none is labelled"."""
    runs: list[list[float]] = []
    for lab in labels:
        if lab.label in lipmetrics.BILABIALS:
            if runs and abs(runs[-1][1] - lab.start) < 1e-9:
                runs[-1][1] = lab.end
            else:
                runs.append([lab.start, lab.end])
    return [(s, e) for s, e in runs if e - s < lipmetrics.BIL_MIN_S - 1e-9]


def _bump(times: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """1 on [t0, t1], easing to 0 over `PLANT_RAMP_S` on both sides (sin^2)."""
    before = np.clip((times - (t0 - PLANT_RAMP_S)) / PLANT_RAMP_S, 0, 1)
    after = np.clip(((t1 + PLANT_RAMP_S) - times) / PLANT_RAMP_S, 0, 1)
    return np.sin(0.5 * np.pi * np.minimum(before, after)) ** 2


def plant(face, curves: Curves, labels, rng: np.random.Generator) -> tuple[Curves, int, list[float]]:
    """`curves` with defects: closures removed at a random share of the bilabials where it closes,
    the mouth opened in a random share of the long silences, one jump. Returns the planted curves,
    how many defects of the first two kinds, and the planted jumps' times."""
    values = curves.values.copy()
    times = np.arange(len(values)) / curves.fps
    jaw = values[:, arkit.INDEX["jawOpen"]]
    closing = [arkit.INDEX[name] for name in CLOSING_CHANNELS]
    _, closed, _, _ = truth(face, curves, labels)
    planted = 0
    for t0, t1 in closed:
        if rng.random() < CLOSURE_PLANT_SHARE:
            bump = _bump(times, t0 - lipmetrics.BIL40_TOL_S, t1 + lipmetrics.BIL40_TOL_S)
            jaw[:] = np.maximum(jaw, PLANT_JAW * bump)
            values[:, closing] *= (1.0 - bump)[:, None]
            planted += 1
    for lab in labels:
        if lab.label in lipmetrics.SILENCES and lab.duration >= lipmetrics.REST_MIN_S and rng.random() < SILENCE_PLANT_SHARE:
            bump = _bump(times, lab.start + lipmetrics.REST_EDGE_S / 2, lab.end - lipmetrics.REST_EDGE_S / 2)
            jaw[:] = np.maximum(jaw, PLANT_JAW * bump)
            values[:, closing] *= (1.0 - bump)[:, None]
            planted += 1
    speech = [i for i, t in enumerate(times) if labels[0].end < t < labels[-1].start]
    jumps = []
    if speech:
        frame = int(rng.choice(speech))
        channel = arkit.INDEX[review.MOUTH_CHANNELS[int(rng.integers(len(review.MOUTH_CHANNELS)))]]
        values[frame, channel] = np.clip(values[frame, channel] + JUMP_SIZE * (1 if values[frame, channel] < 0.5 else -1), 0, 1)
        jumps.append(float(times[frame]))
    return curves.with_values(values), planted, jumps


# --------------------------------------------------------------------------- scoring


def _overlaps(a: tuple[float, float], b: tuple[float, float], tolerance: float) -> bool:
    return a[0] <= b[1] + tolerance and a[1] >= b[0] - tolerance


def match(findings: list[tuple[float, float]], true: list, other: list, tolerance: float) -> Counts:
    """Counts for findings (start, end) against true events; `other` are the labelled events of the
    kind that are not true (closed bilabials and those too short to score, resting silences)."""
    found_true = sum(any(_overlaps(f, t, tolerance) for t in true) for f in findings)
    recalled = sum(any(_overlaps(f, t, tolerance) for f in findings) for t in true)
    nowhere = sum(not any(_overlaps(f, t, tolerance) for t in true + other) for f in findings)
    return Counts(found_true, len(findings), recalled, len(true), nowhere)


def score(face, curves: Curves, labels, phones, words) -> tuple[Score, review.Review]:
    result = review.review(curves, phones, words)
    missed, closed, open_, resting = truth(face, curves, labels)
    closures = [(f.start, f.end) for f in result.findings if f.kind in (review.MISSED_CLOSURE, review.FORCED_OPEN)]
    silences = [(f.start, f.end) for f in result.findings if f.kind == review.OPEN_SILENCE]
    closure_counts = match(closures, missed, closed + short_bilabials(labels), MATCH_TOLERANCE_S)
    return Score(closure_counts, match(silences, open_, resting, 0.0)), result


def review_time(takes: list[Curves], phones: list) -> tuple[float, float]:
    """(seconds of speech, median seconds to review them): utterances joined until REVIEW_SECONDS."""
    values, joined, offset = [], [], 0.0
    for curves, utterance in zip(takes, phones):
        values.append(curves.values)
        joined += [PhoneInterval(p.phone, p.start + offset, p.end + offset) for p in utterance]
        offset += curves.num_frames / curves.fps
        if offset >= REVIEW_SECONDS:
            break
    long = Curves(takes[0].fps, np.concatenate(values))
    runs = []
    for _ in range(REVIEW_REPEATS):
        t0 = time.perf_counter()
        review.review(long, joined)
        runs.append(time.perf_counter() - t0)
    return offset, float(np.median(runs))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=quality.DEFAULT_SHARED / quality.TIMIT_SUBDIR,
                    help="TIMIT-style <spk>/<utt>.{wav,phn} (default: timit_dev)")
    ap.add_argument("--face", type=Path, default=quality.DEFAULT_SHARED / quality.FACE_SUBDIR)
    ap.add_argument("--fps", type=float, default=quality.DEFAULT_FPS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="caches the recognised phones here")
    args = ap.parse_args(argv)

    face = lipmetrics.load_reference_face(args.face, arkit.NAMES)
    wavs = quality.list_utterances(args.data)
    if not wavs:
        print(f"no utterances in {args.data}", file=sys.stderr)
        return 2
    cache_dir = args.out / args.data.name
    figures = {mode: measure_recogniser(wavs, mode, cache_dir) for mode in RECOGNISERS}
    chosen = choose_recogniser(figures)
    print(f"Recognisers on {args.data.name} ({len(wavs)} utterances), bilabials with a recognised p/b/m within 40 ms:")
    for mode, f in figures.items():
        print(f"- {mode}: {100.0 * f.hits / f.total:.1f} % ({f.hits}/{f.total}), "
              f"{f.per_minute:.2f} s per 60 s of audio; of the bilabial events the truth is scored on (lipmetrics, 30 ms or more) "
              f"{100.0 * f.event_hits / f.events:.1f} % ({f.event_hits}/{f.events}); {f.misses_text()}; "
              f"{f.heard.unlabelled} p/b/m heard where no bilabial is labelled")
    best = figures[chosen]
    why = (f"the fastest with >= {100 * BILABIAL_BAR:.0f} %" if best.hits >= BILABIAL_BAR * best.total
           else f"none reaches {100 * BILABIAL_BAR:.0f} %: the one that finds the most")
    used = review.REVIEW_RECOGNITION
    print(f"chosen: {chosen} ({why}); the review uses inference.review.REVIEW_RECOGNITION = {used}"
          + ("" if used == chosen else " (NOT the one chosen here)"))
    found = figures[used].found
    labels = [lipmetrics.read_phn_labels(wav.with_suffix(".phn")) for wav in wavs]

    bases = {"amplitude": quality.make_amplitude(args.fps), "regression": quality.make_neural("regression")(args.fps)}
    takes = {name: [engine(wav) for wav in wavs] for name, engine in bases.items()}
    sets: dict[str, Score] = {}
    speakers: dict[str, Score] = {}
    planted_events, jumps_found, jumps_planted = [0, 0], 0, 0
    rng = np.random.default_rng(PLANT_SEED)

    def add(set_name: str, u: int, curves: Curves) -> review.Review:
        result_score, result = score(face, curves, labels[u], *found[u])
        sets.setdefault(set_name, Score()).add(result_score)
        speakers.setdefault(wavs[u].parent.name, Score()).add(result_score)
        return result

    for name, curves_list in takes.items():
        for u, curves in enumerate(curves_list):
            add(name, u, curves)
    for name, curves_list in takes.items():
        for _ in range(PLANTED_COPIES):
            for u, curves in enumerate(curves_list):
                planted, count, jump_times = plant(face, curves, labels[u], rng)
                before = sets.get("planted", Score())
                events = (before.closures.events, before.silences.events)
                result = add("planted", u, planted)
                after = sets["planted"]
                planted_events[0] += after.closures.events - events[0]
                planted_events[1] += after.silences.events - events[1]
                jumps_planted += len(jump_times)
                jumps_found += sum(any(f.kind == review.JUMP and f.start - 1e-6 <= t <= f.end + 1e-6 for f in result.findings)
                                   for t in jump_times)

    pooled = Score()
    print(f"\nReview (no transcript, phones: {used}, geometry: default lips, the demo head's), {args.fps:g} fps:")
    print("| set | missed closures | open in silence |")
    print("|---|---|---|")
    for name, s in sets.items():
        pooled.add(s)
        print(f"| {name} | {s.closures.text()} | {s.silences.text()} |")
    print(f"| pooled | {pooled.closures.text()} | {pooled.silences.text()} |")
    print(f"(planted set: {planted_events[0]} true missed closures, {planted_events[1]} true open silences, "
          f"{PLANTED_COPIES} copies of each base, seed {PLANT_SEED})")
    print(f"\nPer speaker (all sets; bilabials heard by {used} of those labelled, and heard where none is):")
    for name, s in sorted(speakers.items()):
        heard = figures[used].speakers[name]
        print(f"- {name}: bilabials {heard.hits}/{heard.total}, {heard.unlabelled} not said; "
              f"closures P {s.closures.precision:.2f} R {s.closures.recall:.2f}; "
              f"silences P {s.silences.precision:.2f} R {s.silences.recall:.2f} ({s.silences.events} open)")
    print(f"\nPlanted jumps found: {jumps_found}/{jumps_planted}")
    seconds, took = review_time(takes["regression"], [phones for phones, _ in found])
    print(f"Review of {seconds:.1f} s of speech (phones given): {took:.4f} s (median of {REVIEW_REPEATS}); "
          f"phone finding ({used}) {figures[used].per_minute:.2f} s per 60 s")
    print(f"review: missed closures precision {pooled.closures.precision:.2f} recall {pooled.closures.recall:.2f}; "
          f"open in silence precision {pooled.silences.precision:.2f} recall {pooled.silences.recall:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
