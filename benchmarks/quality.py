"""Lip-sync quality benchmark: engines scored on TIMIT dev with lip geometry of the reference face.

Run from the repository root:

    .venv/bpy-5.0/bin/python -m benchmarks.quality [--fps 30] [--data DIR] [--out DIR] [--pred-dir DIR]

Every engine is a function `audio path -> Curves`; rows are registered in `ENGINES` (add neural
models there). The metrics (BIL, BIL40, BILmin, OPEN, ROUND, RFA, REST, SYNC r/lag, JITTER) are
defined in the shared evaluation README and re-implemented in `benchmarks.lipmetrics`. Output: a
markdown table (printed and written to `<out>/quality.md`), PNG plots of lip aperture against the
phone labels, and with `--pred-dir` per-utterance curve JSONs that lipsync_eval.py can score.
Each row's BIL40 is also given per speaker (the notes under the table), since a choice that fits
a few speakers should not pass for one that holds for every voice. With both diffusion rows it also prints how much takes differ: seeds 0 and 1, and the mean over all
pairs of seeds 0..N-1 (`--diversity-seeds`); seeds 2..N-1 get a row each too (not in `--pred-dir`,
the plots or `--record`, which stay with seeds 0 and 1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from benchmarks import lipmetrics, record
from inference import arkit
from inference.articulation import articulate
from inference.curves import Curves
from inference.phonemes import PhoneInterval, read_timit_phn

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(os.environ.get("LIPKIT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
DEFAULT_OUT = REPO_ROOT / "out" / "benchmarks" / "quality"
DEFAULT_FPS = 30.0
TIMIT_SUBDIR = Path("speech") / "timit_dev"
FACE_SUBDIR = Path("faces") / "arkit_reference_face" / "obj"
TIMIT_RATE = 16000
PLOT_UTTERANCES = 4
DIVERSITY_SEEDS = 8     # seeds 0..N-1: the mean difference over all their pairs, beside seeds 0 and 1

# Amplitude baseline: jawOpen = clip(AMP_GAIN * RMS / P95(RMS), 0, 1), RMS over one frame.
AMP_GAIN = 0.45
AMP_PERCENTILE = 95

Engine = Callable[[Path], Curves]


# ---------------------------------------------------------------- utterances


def list_utterances(data_dir: Path) -> list[Path]:
    """WAV paths of every `<spk>/<utt>.wav` that has a `.phn` beside it, sorted."""
    return sorted(p for p in data_dir.glob("*/*.wav") if p.with_suffix(".phn").exists())


def utterance_id(wav: Path) -> str:
    return f"{wav.parent.name}_{wav.stem}"


def read_transcript(wav: Path) -> str:
    """TIMIT `.txt`: 'start end text' -> text."""
    parts = wav.with_suffix(".txt").read_text(encoding="ascii").split(maxsplit=2)
    return parts[2].strip() if len(parts) == 3 else ""


def read_wav(wav: Path) -> np.ndarray:
    import soundfile  # benchmark-only dependency

    samples, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    if rate != TIMIT_RATE:
        raise ValueError(f"{wav}: expected {TIMIT_RATE} Hz, got {rate}")
    return samples.mean(axis=1)


def audio_duration(wav: Path) -> float:
    import soundfile

    info = soundfile.info(str(wav))
    return info.frames / info.samplerate


# ---------------------------------------------------------------- engines


def _intervals(result) -> list[PhoneInterval]:
    """Phones from the phones module, which returns a list or an object with `.intervals`."""
    return list(getattr(result, "intervals", result))


def _load_samples(wav: Path) -> np.ndarray:
    try:
        from inference.audio import load_audio
    except ImportError:
        return read_wav(wav)
    return np.asarray(load_audio(wav).samples, np.float32)


def make_hand_labelled(fps: float) -> Engine:
    def engine(wav: Path) -> Curves:
        return articulate(read_timit_phn(wav.with_suffix(".phn")), fps, audio_duration(wav))
    return engine


def make_amplitude(fps: float) -> Engine:
    def engine(wav: Path) -> Curves:
        samples = read_wav(wav)
        duration = len(samples) / TIMIT_RATE
        n = int(np.floor(duration * fps + 1e-6)) + 1
        half = int(round(TIMIT_RATE / fps / 2))
        centres = np.rint(np.arange(n) / fps * TIMIT_RATE).astype(int)
        csum = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
        lo = np.clip(centres - half, 0, len(samples))
        hi = np.clip(centres + half, 0, len(samples))
        rms = np.sqrt((csum[hi] - csum[lo]) / np.maximum(hi - lo, 1))
        ref = np.percentile(rms, AMP_PERCENTILE)
        values = np.zeros((n, arkit.NUM_CHANNELS), np.float32)
        values[:, arkit.INDEX["jawOpen"]] = np.clip(AMP_GAIN * rms / max(ref, 1e-12), 0.0, 1.0)
        return Curves(fps, values)
    return engine


def make_aligned(fps: float) -> Engine:
    from inference.phones import align_phones

    def engine(wav: Path) -> Curves:
        phones = _intervals(align_phones(_load_samples(wav), read_transcript(wav)))
        return articulate(phones, fps, audio_duration(wav))
    return engine


def make_recognised(mode: str) -> Callable[[float], Engine]:
    def factory(fps: float) -> Engine:
        from inference.phones import recognize_phones

        def engine(wav: Path) -> Curves:
            phones = _intervals(recognize_phones(_load_samples(wav), mode=mode))
            return articulate(phones, fps, audio_duration(wav))
        return engine
    return factory


def make_neural(name: str, seed: int = 0, weights_dir: Path | None = None) -> Callable[[float], Engine]:
    """A bundled model (no transcript, lips only, neutral emotion, the model's default steps); the
    models in `weights_dir` instead when given."""
    def factory(fps: float) -> Engine:
        from inference import generation
        from inference.audio import load_audio

        def engine(wav: Path) -> Curves:
            return generation.perform(load_audio(wav), engine=name, fps=fps, seed=seed, layers=("lips",),
                                      weights_dir=weights_dir).curves
        return engine
    return factory


# (key, row name, factory fps -> Engine). Factories that raise ImportError are skipped (reported).
ENGINES: list[tuple[str, str, Callable[[float], Engine]]] = [
    ("regression", "regression model, no transcript", make_neural("regression")),
    ("diffusion", "diffusion model seed 0, no transcript", make_neural("diffusion", 0)),
    ("diffusion1", "diffusion model seed 1, no transcript", make_neural("diffusion", 1)),
    ("aligned", "phonetic, with transcript", make_aligned),
    ("recognised", "phonetic, no transcript", make_recognised("words")),
    ("phones", "phonetic, no transcript, --recognition phones", make_recognised("phones")),
    ("amplitude", "amplitude (RMS -> jawOpen)", make_amplitude),
    ("hand", "hand-labelled phones", make_hand_labelled),
]


# ---------------------------------------------------------------- running


def curves_json(curves: Curves) -> dict:
    data = curves.to_json_dict()
    return {"fps": data["fps"], "channels": data["channels"], "frames": data["frames"]}


def run_engine(engine: Engine, wavs: list[Path], face, pred_dir: Path | None):
    scores, seconds, outputs = [], 0.0, []
    for wav in wavs:
        t0 = time.perf_counter()
        curves = engine(wav)
        seconds += time.perf_counter() - t0
        outputs.append(curves)
        if pred_dir is not None:
            pred_dir.mkdir(parents=True, exist_ok=True)
            (pred_dir / f"{utterance_id(wav)}.json").write_text(json.dumps(curves_json(curves)))
        weights = curves.select(face.channels).values
        labels = lipmetrics.read_phn_labels(wav.with_suffix(".phn"))
        scores.append(lipmetrics.score_utterance(face, curves.fps, weights, labels))
    return scores, seconds, outputs


def _per_speaker(scores, speakers: list[str], fields: tuple[str, ...]) -> dict[str, list[int]]:
    """The scores' counts named in `fields`, summed per speaker (one name per score), by name."""
    pooled: dict[str, list[int]] = {}
    for score, speaker in zip(scores, speakers):
        counts = pooled.setdefault(speaker, [0] * len(fields))
        for i, field in enumerate(fields):
            counts[i] += getattr(score, field)
    return dict(sorted(pooled.items()))


def speaker_bil40(scores, speakers: list[str]) -> dict[str, float]:
    """BIL40 % per speaker (one name per score), pooled over that speaker's bilabials; speakers
    without a bilabial are left out."""
    return {speaker: 100.0 * hits / n
            for speaker, (hits, n) in _per_speaker(scores, speakers, ("bil40_hits", "bil_n")).items() if n}


def speaker_rounding(scores, speakers: list[str]) -> dict[str, tuple[float, float]]:
    """(ROUND %, RFA %) per speaker (one name per score), pooled over that speaker's rounded and
    spread vowels; speakers without either are left out."""
    counts = _per_speaker(scores, speakers, ("round_hits", "round_n", "rfa_hits", "rfa_n"))
    return {speaker: (100.0 * rounded / n, 100.0 * false / spread)
            for speaker, (rounded, n, false, spread) in counts.items() if n and spread}


def mouth_difference(first: list[Curves], second: list[Curves]) -> float:
    """Mean absolute difference over the mouth and jaw channels of two takes of the same clips."""
    mouth = [name for name in arkit.NAMES if name.startswith(("mouth", "jaw"))]
    return float(np.mean(np.concatenate([np.abs(a.select(mouth).values - b.select(mouth).values).ravel()
                                         for a, b in zip(first, second)])))


def mean_pair_difference(takes: list[list[Curves]]) -> float:
    """`mouth_difference` averaged over every pair of takes (one list of clips per seed)."""
    return float(np.mean([mouth_difference(takes[i], takes[j])
                          for i in range(len(takes)) for j in range(i + 1, len(takes))]))


def plot_utterances(results: dict[str, list], wavs: list[Path], out_dir: Path, count: int) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for u, wav in enumerate(wavs[:count]):
        labels = lipmetrics.read_phn_labels(wav.with_suffix(".phn"))
        fig, ax = plt.subplots(figsize=(14, 4))
        for name, scores in results.items():
            s = scores[u]
            ax.plot(s.times, s.aperture, label=name, lw=1.2)
        for lab in labels:
            colour = None
            if lab.label in lipmetrics.BILABIALS:
                colour = "tab:red"
            elif lab.label in lipmetrics.OPEN_VOWELS:
                colour = "tab:green"
            elif lab.label in lipmetrics.ROUNDED:
                colour = "tab:purple"
            if colour:
                ax.axvspan(lab.start, lab.end, color=colour, alpha=0.12, lw=0)
            ax.axvline(lab.start, color="0.85", lw=0.5)
            ax.text((lab.start + lab.end) / 2, -2.5, lab.label, ha="center", va="top", fontsize=7)
        ax.axhline(lipmetrics.CLOSE_MM, color="tab:red", ls=":", lw=0.8)
        ax.axhline(lipmetrics.OPEN_MM, color="tab:green", ls=":", lw=0.8)
        ax.set_ylim(-5, None)
        ax.set_xlabel("seconds (red: bilabial, green: open vowel, purple: rounded)")
        ax.set_ylabel("lip aperture a(t), mm")
        ax.set_title(utterance_id(wav) + ": " + read_transcript(wav))
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        path = out_dir / f"aperture_{utterance_id(wav)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED, help="shared data folder")
    ap.add_argument("--data", type=Path, help="TIMIT-style <spk>/<utt>.{wav,phn,txt} (default <shared>/speech/timit_dev)")
    ap.add_argument("--face", type=Path, help="reference face OBJ folder (default <shared>/faces/arkit_reference_face/obj)")
    ap.add_argument("--fps", type=float, default=DEFAULT_FPS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--engines", default=",".join(k for k, _, _ in ENGINES),
                    help="comma-separated keys: " + ", ".join(k for k, _, _ in ENGINES))
    ap.add_argument("--pred-dir", type=Path, help="write <pred-dir>/<engine>/<spk>_<utt>.json for lipsync_eval.py")
    ap.add_argument("--limit", type=int, help="only the first N utterances")
    ap.add_argument("--plots", type=int, default=PLOT_UTTERANCES, help="utterances to plot (0: none)")
    ap.add_argument("--diversity-seeds", type=int, default=DIVERSITY_SEEDS,
                    help="with diffusion and diffusion1: also score seeds 2..N-1 and give the mean difference "
                         "over all pairs of seeds 0..N-1")
    ap.add_argument("--record", action="store_true",
                    help="write the models' figures into their sidecars (weights/*.json)")
    args = ap.parse_args(argv)

    data_dir = args.data or args.shared_data / TIMIT_SUBDIR
    face_dir = args.face or args.shared_data / FACE_SUBDIR
    wavs = list_utterances(data_dir)[: args.limit]
    if not wavs:
        print(f"no utterances in {data_dir}", file=sys.stderr)
        return 2
    face = lipmetrics.load_reference_face(face_dir, arkit.NAMES)
    args.out.mkdir(parents=True, exist_ok=True)

    wanted = [k.strip() for k in args.engines.split(",") if k.strip()]
    rows, results, notes, takes = [], {}, [], {}

    def add_row(name: str, scores) -> None:
        rows.append(lipmetrics.markdown_row(name, lipmetrics.aggregate(scores)))
        print(rows[-1], flush=True)
        speakers = speaker_bil40(scores, [wav.parent.name for wav in wavs])
        if speakers:
            notes.append(f"- {name}: BIL40 per speaker " + ", ".join(f"{k} {v:.0f}" for k, v in speakers.items())
                         + f" (lowest {min(speakers.values()):.1f})")
        rounding = speaker_rounding(scores, [wav.parent.name for wav in wavs])
        if rounding:
            notes.append(f"- {name}: ROUND / RFA per speaker "
                         + ", ".join(f"{k} {r:.0f} / {f:.0f}" for k, (r, f) in rounding.items()))

    for key, name, factory in ENGINES:
        if key not in wanted:
            continue
        try:
            engine = factory(args.fps)
        except ImportError as exc:
            notes.append(f"- {name}: skipped ({exc})")
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        pred_dir = args.pred_dir / key if args.pred_dir else None
        scores, seconds, takes[key] = run_engine(engine, wavs, face, pred_dir)
        results[name] = scores
        add_row(name, scores)
        notes.append(f"- {name}: {seconds:.2f} s for {len(wavs)} utterances")

    seed_difference = pair_difference = None
    if "diffusion" in takes and "diffusion1" in takes:
        seed_difference = mouth_difference(takes['diffusion'], takes['diffusion1'])
        notes.append(f"- diffusion seeds 0 and 1: mean absolute difference over mouth and jaw channels "
                     f"{seed_difference:.4f}")
        if args.diversity_seeds > 2:
            seeds = [takes["diffusion"], takes["diffusion1"]]
            for seed in range(2, args.diversity_seeds):   # each take is scored too: every seed should meet the bars
                scores, _, outputs = run_engine(make_neural("diffusion", seed)(args.fps), wavs, face, None)
                seeds.append(outputs)
                add_row(f"diffusion model seed {seed}, no transcript", scores)
            pair_difference = mean_pair_difference(seeds)
            notes.append(f"- diffusion seeds 0..{args.diversity_seeds - 1}: the same difference averaged over all "
                         f"{len(seeds) * (len(seeds) - 1) // 2} pairs {pair_difference:.4f}")
    table = "\n".join([lipmetrics.MARKDOWN_HEADER, *rows])
    header = (f"# Lip-sync quality on {data_dir.name} ({len(wavs)} utterances, {args.fps:g} fps, "
              f"reference face a0={face.a0:.2f} mm, w0={face.w0:.2f} mm)\n")
    text = header + "\n" + table + "\n\nEngine time:\n" + "\n".join(notes) + "\n"
    (args.out / "quality.md").write_text(text)
    if args.plots and results:
        plots = plot_utterances(results, wavs, args.out, args.plots)
        text += "\nPlots: " + ", ".join(p.name for p in plots) + "\n"
    print()
    print(text)
    if args.record:
        command = "python -m benchmarks.quality " + " ".join(argv if argv is not None else sys.argv[1:])
        record_models(results, f"{data_dir.name}, {len(wavs)} utterances, no transcript, {args.fps:g} fps",
                      command.strip(), seed_difference, pair_difference)
    return 0


def record_models(results: dict, data: str, command: str, seed_difference: float | None,
                  pair_difference: float | None) -> None:
    """The neural engines' figures into their sidecars (benchmarks.record)."""
    for model in ("regression", "diffusion"):
        name = next(name for key, name, _ in ENGINES if key == model)
        if name not in results:
            continue
        agg = lipmetrics.aggregate(results[name])
        values = {"data": data, **{k: round(agg[k], 3 if k == "SYNC_r" else 1)
                                  for k in ("BIL40", "OPEN", "ROUND", "RFA", "REST", "SYNC_r", "SYNC_lag_ms")}}
        if model == "diffusion" and seed_difference is not None:
            values["seed_0_vs_1_mouth_difference"] = round(seed_difference, 4)
        if model == "diffusion" and pair_difference is not None:
            values["seed_pairs_mean_mouth_difference"] = round(pair_difference, 4)
        print(f"recorded in {record.record(model, 'quality', command, values)}")


if __name__ == "__main__":
    sys.exit(main())
