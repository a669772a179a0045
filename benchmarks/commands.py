"""Lip closures on speakers the models never heard: Speech Commands' held-out speakers.

Run from the repository root:

    .venv/bpy-5.0/bin/python -m benchmarks.commands [--engines regression,diffusion,diffusion1,...] [--limit N]

The clips are Speech Commands' one-word recordings (hundreds of speakers, their own phones and
laptops) of the speakers `training.corpus.held_out_speaker` keeps out of training. Each clip's word
is its transcript, aligned by pocketsphinx (`inference.phones.align_phones`); the clips whose
aligned phones hold a bilabial (p, b, m) are scored. A bilabial word is hit when the lips of the
reference face close (aperture <= `lipmetrics.CLOSE_MM`) within 40 ms of the aligned bilabial,
the BIL40 test of `benchmarks.quality` with the alignment as the labels. Clips whose alignment
fails are counted and left out. Prints a markdown table (also `<out>/commands.md`) with the
number of words and speakers; `--record` writes the models' figures into their sidecars.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks import lipmetrics, quality, record
from inference import arkit
from inference.phonemes import SILENCE
from training.corpus import DEFAULT_SHARED, held_out_speaker, speech_commands_clips

DEFAULT_OUT = quality.REPO_ROOT / "out" / "benchmarks" / "commands"
DEFAULT_ENGINES = "regression,diffusion,diffusion1,recognised,amplitude"
BILABIAL_PHONES = frozenset({"p", "b", "m"})


def held_out_clips(shared: Path) -> list[tuple[Path, str, str]]:
    """(path, word, speaker) of every clip of a held-out speaker."""
    return [(Path(path), word, speaker) for path, word, speaker in speech_commands_clips(shared)
            if held_out_speaker(speaker)]


def aligned_labels(path: Path, word: str) -> list[lipmetrics.Label] | None:
    """The clip's phones aligned to its word as labels (silence as TIMIT's `pau`); None if alignment fails."""
    from inference.audio import load_audio
    from inference.phones import align_phones

    audio = load_audio(path)
    result = align_phones(audio.samples, word)
    if result.method != "alignment":
        return None
    labels = [lipmetrics.Label("pau" if p.phone == SILENCE else p.phone, p.start, p.end) for p in result.intervals]
    if labels and labels[-1].end < audio.duration:
        labels.append(lipmetrics.Label("pau", labels[-1].end, audio.duration))
    return labels


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--face", type=Path, help="reference face OBJ folder (default <shared>/faces/arkit_reference_face/obj)")
    ap.add_argument("--fps", type=float, default=quality.DEFAULT_FPS)
    ap.add_argument("--engines", default=DEFAULT_ENGINES,
                    help="comma-separated keys of benchmarks.quality's engines that need no transcript")
    ap.add_argument("--limit", type=int, help="only the first N bilabial words")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--record", action="store_true",
                    help="write the models' figures into their sidecars (weights/*.json, section held_out_speakers)")
    args = ap.parse_args(argv)

    clips = held_out_clips(args.shared_data)
    if not clips:
        print(f"no Speech Commands clips under {args.shared_data}", file=sys.stderr)
        return 2
    face = lipmetrics.load_reference_face(args.face or args.shared_data / quality.FACE_SUBDIR, arkit.NAMES)
    words, failed = [], 0
    for path, word, speaker in clips:
        labels = aligned_labels(path, word)
        if labels is None:
            failed += 1
            continue
        if any(label.label in BILABIAL_PHONES for label in labels):
            words.append((path, speaker, labels))
        if args.limit and len(words) >= args.limit:
            break
    speakers = len({speaker for _, speaker, _ in words})
    rows, figures = [], {}
    wanted = [key.strip() for key in args.engines.split(",") if key.strip()]
    for key, name, factory in quality.ENGINES:
        if key not in wanted:
            continue
        engine = factory(args.fps)
        scores = []
        for path, _, labels in words:
            curves = engine(path)
            scores.append(lipmetrics.score_utterance(face, curves.fps, curves.select(face.channels).values, labels))
        hits = sum(score.bil40_hits for score in scores)
        total = sum(score.bil_n for score in scores)
        per_speaker = quality.speaker_bil40(scores, [speaker for _, speaker, _ in words])
        every = np.mean(list(per_speaker.values())) if per_speaker else float("nan")
        figures[key] = {"bilabial_words_closed_within_40ms_percent": round(100 * hits / max(total, 1), 1),
                        "mean_over_speakers_percent": round(every, 1), "words": total,
                        "speakers": len(per_speaker)}
        rows.append(f"| {name} | {100 * hits / max(total, 1):.1f} ({hits}/{total}) | {every:.1f} |")
        print(rows[-1], flush=True)
    header = (f"# Lip closures on Speech Commands' held-out speakers ({len(words)} bilabial words from {speakers} "
              f"speakers; {failed} of {len(clips)} held-out clips did not align and are left out; {args.fps:g} fps)\n\n"
              "| engine | lips closed within 40 ms of the bilabial, % (h/n) | mean over speakers, % |\n|---|---|---|")
    text = header + "\n" + "\n".join(rows) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "commands.md").write_text(text)
    print()
    print(text)
    if args.record:
        command = "python -m benchmarks.commands " + " ".join(argv if argv is not None else sys.argv[1:])
        for model, key in (("regression", "regression"), ("diffusion", "diffusion")):
            if key in figures:
                values = {"data": "Speech Commands, held-out speakers (training.corpus.held_out_speaker), "
                                  f"{args.fps:g} fps", **figures[key]}
                print(f"recorded in {record.record(model, 'held_out_speakers', command.strip(), values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
