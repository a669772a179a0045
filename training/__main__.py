"""`python -m training`: build the corpus, train both models, export them to weights/.

    python -m training all                     # the shipped weights: the recipe of training.recipe
    python -m training data | train | select | export
    python -m training voices --voice 150 --to CACHE   # the corpus as the runtime hears it, into another cache
    python -m training select --run RUN        # score the run's snapshots on timit_dev, choose each engine's
    python -m training select --run RUN --decision-sets 0,8,9   # with three of select.DECISIONS only
    python -m training train --run tuned --init-from RUN_OR_CHECKPOINT --lr 1e-3   # fine-tune
    python -m training train --run takes --init-from RUN --diffusion-only      # the denoiser alone
    python -m training train --run rounding --init-from RUN --gesture-only round   # one gesture's logit alone
    python -m training export --run RUN --out DIR --seal-decision 0.1,0.4      # lips close more readily
    python -m training export --run RUN --out DIR --round-decision 0.4,0.9     # lips round less readily
    python -m training export --run RUN --out DIR --seal-peak off              # no brief closures at peaks
    python -m training export --run RUN --out DIR --round-peak off             # no brief rounding at peaks
    python -m training export --run RUN --out DIR --voice off                  # every voice heard as it is
    python -m training export --run RUN --engine diffusion     # one engine (the denoiser and its encoder)
    python -m training smoke --out DIR     # a tiny end-to-end run for CI (synthetic speech only)

The corpus and runs are cached under $LIPKIT_TRAINING_CACHE (default ~/.cache/lipkit/training).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from . import corpus as corpus_mod
from . import export, models, recipe, train
from . import select as select_mod

ENGINES = tuple(select_mod.ENGINES)      # ("regression", "diffusion"): each exported from its own snapshot


def _hours(corpus) -> dict[str, float]:
    return {name: sum(u.duration for u in utts) / 3600 for name, utts in corpus.items()}


def _speakers(corpus) -> dict[str, int]:
    """Distinct voices per source (speakers of real speech; voices, or voice and variant, of synthetic)."""
    return {name: len({u.voice for u in utts}) for name, utts in corpus.items()}


def decision(text: str) -> tuple[float, float]:
    """"LOW,HIGH" -> the gesture probabilities between which the exported models' lips go from
    their own shape to the gesture's (open to closed, or to rounded)."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers LOW,HIGH, got {text!r}") from None
    if not 0.0 < low < high < 1.0:
        raise argparse.ArgumentTypeError(f"need 0 < LOW < HIGH < 1, got {low:g},{high:g}")
    return low, high


def _number_or_off(text: str, what: str, valid, need: str) -> float | None:
    """`text` as a number that `valid` accepts, or None for "off"; else an argparse error."""
    if text.strip().lower() == "off":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what} or off, got {text!r}") from None
    if not valid(value):
        raise argparse.ArgumentTypeError(f"need {need}, got {value:g}")
    return value


def pitch_or_off(text: str) -> float | None:
    """"125" -> the pitch (Hz) above which the runtime lowers a voice before the models hear it; "off" -> None."""
    return _number_or_off(text, "a pitch in Hz", lambda pitch: 50.0 <= pitch <= 400.0, "a pitch from 50 to 400 Hz")


def peak_floor(text: str) -> float | None:
    """"0.12" -> the probability from which a peak of a gesture (the seal, rounding) draws it briefly; "off" -> None."""
    return _number_or_off(text, "a number", lambda floor: 0.0 < floor < 1.0, "0 < FLOOR < 1")


def snapshot_name(cache: Path, checkpoint: Path) -> str:
    """The checkpoint as "<cache folder>/<path in the cache>" (the full path where it lies elsewhere)."""
    try:
        return f"{cache.name}/{checkpoint.relative_to(cache)}"
    except ValueError:
        return str(checkpoint)


def _export(cache: Path, checkpoint: Path, out: Path, decisions: models.Decisions = models.Decisions(),
            engines=ENGINES, *, command: str, gestures_from: str | None = "regression") -> None:
    """`engines` of a checkpoint into `out`: the regression engine's model, and the diffusion
    engine's denoiser with its encoder (the checkpoint's regression model), drawing the gestures of
    the model `gestures_from` names (None: its own). The sidecars record `command`, the
    checkpoint and the corpus of `cache` (`corpus.digest`); a checkpoint whose run names another
    corpus is refused, as its sidecars would count a corpus it was not trained on."""
    corpus = corpus_mod.load_corpus(cache)
    counts = {name: len(utts) for name, utts in corpus.items()}
    hours, speakers = _hours(corpus), _speakers(corpus)
    regression, denoiser, state = train.load(checkpoint)
    trained_on = corpus_mod.digest(corpus)
    if state.get("corpus") not in (None, trained_on):
        raise ValueError(f"{checkpoint} was trained on the corpus {state['corpus']}, and {cache} holds {trained_on} "
                         f"(training.corpus.digest): export it with --cache set to the cache it was trained on")
    regression.gesture_decisions = denoiser.gesture_decisions = decisions
    steps = state.get("base_steps", 0) + state["step"]
    regression_steps = train.regression_steps(state)
    provenance = {"command": command, "snapshot": snapshot_name(cache, checkpoint),
                  "fine_tuned_from": state.get("base_steps", 0), "corpus": trained_on}
    regression_record = export.training_record(regression_steps, counts, hours, speakers, **provenance)
    if "regression" in engines:
        export.export_regression(regression, out, regression_record)
    if "diffusion" in engines:
        export.export_regression(regression, out, regression_record, name=export.ENCODER)
        export.export_diffusion(denoiser, regression.hidden, out,
                                export.training_record(steps, counts, hours, speakers,
                                                       denoiser_alone=steps - regression_steps,
                                                       style_only=tuple(state.get("style_only") or ()), **provenance),
                                gestures_from=gestures_from)


def decision_sets(text: str) -> tuple[models.Decisions, ...]:
    """"0,8,9" -> those of `select.DECISIONS`, by position."""
    try:
        chosen = [select_mod.DECISIONS[int(part)] for part in text.split(",")]
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"expected positions 0-{len(select_mod.DECISIONS) - 1} of select.DECISIONS "
                                         f"separated by commas, got {text!r}") from None
    return tuple(dict.fromkeys(chosen))


def source_weights(text: str) -> dict[str, float]:
    """"festival=0.2,speech_commands=0.3" -> how often each corpus source is drawn (the rest: never)."""
    weights = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected NAME=WEIGHT pairs separated by commas, got {part!r}") from None
        if weights[name.strip()] < 0:
            raise argparse.ArgumentTypeError(f"a source's weight cannot be negative: {part!r}")
    return weights


def _development_set(args) -> tuple[Path | None, Path | None]:
    """(timit_dev, the reference face) for `select`, or (None, None) with a message where either is missing."""
    from benchmarks import quality
    data, face = args.data or args.shared / quality.TIMIT_SUBDIR, args.shared / quality.FACE_SUBDIR
    if not quality.list_utterances(data) or not face.is_dir():
        print(f"select needs the development set ({data}) and the reference face ({face}): "
              "give --shared (or --data)", file=sys.stderr)
        return None, None
    return data, face


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training")
    parser.add_argument("command", choices=("data", "voices", "train", "select", "export", "all", "smoke"))
    parser.add_argument("--cache", type=Path, default=corpus_mod.DEFAULT_CACHE)
    parser.add_argument("--shared", type=Path, default=corpus_mod.DEFAULT_SHARED)
    parser.add_argument("--out", type=Path, default=export.WEIGHTS_DIR)
    parser.add_argument("--minutes", type=float, default=80.0,
                        help="train: wall-time limit of the run (all: its runs are measured in steps, training.recipe)")
    parser.add_argument("--steps", type=int, default=20000, help="train: steps of the run")
    parser.add_argument("--workers", type=int, default=1,
                        help=f"batch-making processes (all: always {recipe.WORKERS}, its weights depend on it)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads of the training process (1 on a machine other work shares: "
                             "two threads wait on each other whenever either is descheduled; all: always "
                             f"{recipe.THREADS}, its weights depend on it)")
    parser.add_argument("--run", default="main", help="run name: <cache>/runs/<run>/checkpoint.pt")
    parser.add_argument("--init-from", help="start a new run from this run's (or checkpoint's) weights")
    parser.add_argument("--seed", type=int, default=0,
                        help="train: the seed of a new run's weights and batches (a resumed run keeps its own)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    parser.add_argument("--sources", type=source_weights, metavar="NAME=WEIGHT,...",
                        help="train: how often each corpus source is drawn (default: training.dataset.SOURCE_WEIGHTS)")
    parser.add_argument("--ema", type=float, default=train.EMA_DECAY,
                        help=f"train: decay of the weight average snapshots keep (default {train.EMA_DECAY}; 0: none)")
    parser.add_argument("--diffusion-only", action="store_true",
                        help="train the denoiser alone; the regression model (and its audio_hidden) stays as it is")
    parser.add_argument("--gesture-only", choices=models.GESTURES,
                        help="train this gesture's logit alone (both models' output rows for it); the rest stays as it is")
    parser.add_argument("--style-only", type=lambda text: tuple(part.strip() for part in text.split(",")),
                        metavar="NAME,...", help="train these style entries' input columns of the denoiser alone "
                                                 "(training.targets.STYLE_NAMES); the rest stays as it is")
    parser.add_argument("--seal-decision", type=decision, metavar="LOW,HIGH",
                        help="export: seal probabilities between which the lips go from open to closed "
                             "(default: the one `select` chose with the snapshot, else "
                             f"{models.SEAL_DECISION[0]:g},{models.SEAL_DECISION[1]:g})")
    parser.add_argument("--seal-peak", type=peak_floor, metavar="FLOOR|off", default=argparse.SUPPRESS,
                        help="export: the seal probability from which a peak closes the lips briefly, or off "
                             f"(default: the one `select` chose, else {models.SEAL_PEAK:g})")
    parser.add_argument("--voice", type=pitch_or_off, metavar="HZ|off", default=argparse.SUPPRESS,
                        help="export: the pitch above which the runtime lowers a voice before the models hear it "
                             "(inference.voice), or off (default: the one `select` chose, else "
                             f"{models.VOICE_REFERENCE:g})")
    parser.add_argument("--round-decision", type=decision, metavar="LOW,HIGH",
                        help="export: rounding probabilities between which the lips go from their own shape to "
                             "rounded (default: the one `select` chose, else "
                             f"{models.ROUND_DECISION[0]:g},{models.ROUND_DECISION[1]:g})")
    parser.add_argument("--round-peak", type=peak_floor, metavar="FLOOR|off", default=argparse.SUPPRESS,
                        help="export: the rounding probability from which a peak rounds the lips briefly, or off "
                             f"(default: the one `select` chose, else {models.ROUND_PEAK:g})")
    parser.add_argument("--gestures-from", choices=("regression", "own"), default="regression",
                        help="export: whose seal and rounding the diffusion engine draws: the regression engine's "
                             "shipped beside it (default: every take closes and rounds the lips where that engine "
                             "does), or its own denoiser's")
    parser.add_argument("--snapshot", metavar="NAME",
                        help="export: this snapshot of the run (e.g. step-002000.pt) in place of the one `select` "
                             "chose, with the decisions given (default: the models' defaults)")
    parser.add_argument("--engine", choices=("both", *ENGINES), default="both",
                        help="select, export: which engine (default both; select: score and choose this engine alone, "
                             "export: its models, from the snapshot `select` chose for it)")
    parser.add_argument("--data", type=Path, help="select: the development set (default <shared>/speech/timit_dev)")
    parser.add_argument("--decision-sets", type=decision_sets, metavar="I,J,...",
                        help="select: score only these of select.DECISIONS (by position, 0 the defaults; "
                             "default all of them), fixed before the run is scored")
    parser.add_argument("--rebuild", nargs="*", default=(), metavar="SOURCE",
                        help="with `data`: remake these corpus shards (e.g. after a labelling change)")
    parser.add_argument("--add", nargs="*", default=(), metavar="SOURCE", choices=corpus_mod.OPTIONAL_SOURCES,
                        help="with `data`: make these optional sources too (piper: not in the recipe's corpus, and "
                             "drawn only where `train --sources` gives them a weight)")
    parser.add_argument("--to", type=Path, metavar="CACHE",
                        help="voices: the cache folder the corpus goes to, every voice above --voice heard lower")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    checkpoint = args.cache / "runs" / args.run / "checkpoint.pt"
    init_from = None
    if args.init_from:
        init_from = Path(args.init_from)
        if not init_from.suffix:
            init_from = args.cache / "runs" / args.init_from / "checkpoint.pt"
        if not init_from.exists():
            print(f"no checkpoint at {init_from}", file=sys.stderr)
            return 1
    if args.command == "smoke":
        return smoke(args.out)
    command = " ".join(["python -m training", *(sys.argv[1:] if argv is None else argv)]).replace(
        str(Path.home()), "~")
    if args.command == "all":
        data, face = _development_set(args)
        if data is None:
            return 1

        def ship(cache, snapshot, out, decisions, engine):
            logging.info("exporting the %s engine from %s with the decisions %s", engine, snapshot,
                         select_mod.describe(decisions))
            _export(cache, snapshot, out, decisions, engines=(engine,), command=command)
        recipe.run(args.cache, args.shared, args.out, data, face, run_name=args.run, export=ship)
        return 0
    if args.command == "data":
        corpus_mod.build(args.cache, args.shared, rebuild=args.rebuild, extra=args.add)
        print(f"corpus {corpus_mod.digest(corpus_mod.load_corpus(args.cache))} in {args.cache}")
    if args.command == "voices":
        reference = getattr(args, "voice", models.VOICE_REFERENCE)
        if args.to is None or reference is None:
            print("voices needs --to CACHE and a reference pitch (--voice HZ)", file=sys.stderr)
            return 1
        for source, (lowered, total) in corpus_mod.normalise_voices(args.cache, args.to, reference).items():
            print(f"{source}: {lowered} of {total} utterances heard lower (voices above {reference:g} Hz)")
        print(f"corpus {corpus_mod.digest(corpus_mod.load_corpus(args.to))} in {args.to}")
        return 0
    if args.command == "train":
        corpus = corpus_mod.load_corpus(args.cache)
        if not corpus:
            print("no corpus: run `python -m training data` first", file=sys.stderr)
            return 1
        train.train(corpus, checkpoint.parent, args.steps, args.minutes, seed=args.seed, workers=args.workers, lr=args.lr,
                    init_from=init_from, diffusion_only=args.diffusion_only, gesture_only=args.gesture_only,
                    threads=args.threads, style_only=args.style_only,
                    source_weights=args.sources, ema_decay=args.ema)
    if args.command == "select":
        data, face = _development_set(args)
        if data is None:
            return 1
        if not train.snapshots(checkpoint.parent):
            print(f"run {args.run} has no snapshots ({checkpoint.parent / train.SNAPSHOT_FOLDER}): train it first",
                  file=sys.stderr)
            return 1
        select_mod.select(checkpoint.parent, data, face,
                          decisions=select_mod.DECISIONS if args.decision_sets is None else args.decision_sets,
                          engines=ENGINES if args.engine == "both" else (args.engine,))
    if args.command == "export":
        for engine in ENGINES if args.engine == "both" else (args.engine,):
            chosen = select_mod.selection(checkpoint.parent, engine)
            if args.snapshot:
                source = checkpoint.parent / train.SNAPSHOT_FOLDER / args.snapshot
                if not source.exists():
                    print(f"run {args.run} has no snapshot {args.snapshot} ({source})", file=sys.stderr)
                    return 1
                decisions = models.Decisions()
            elif chosen is None and (checkpoint.parent / select_mod.SELECTED_FILE).exists():
                print(f"{engine}: select chose only the other engine in run {args.run}: nothing exported "
                      f"(select --engine {engine}, or export --snapshot NAME)")
                continue
            elif chosen and chosen["shipped_ranks_first"]:
                print(f"{engine}: the shipped weights rank above every snapshot of run {args.run} "
                      f"({checkpoint.parent / select_mod.SELECTED_FILE}): nothing exported")
                continue
            else:
                source = select_mod.selected_snapshot(checkpoint.parent, engine) or checkpoint
                decisions = select_mod.selected_decisions(checkpoint.parent, engine) or models.Decisions()
            overrides = {"seal": args.seal_decision, "rounding": args.round_decision}
            decisions = dataclasses.replace(decisions, **{k: v for k, v in overrides.items() if v is not None})
            # the options that can turn a decision off (None) are only in `args` where given
            given = {name: getattr(args, name) for name in ("seal_peak", "round_peak", "voice") if name in args}
            decisions = dataclasses.replace(decisions, **given)
            logging.info("exporting the %s engine from %s with the decisions %s", engine, source,
                         select_mod.describe(decisions))
            _export(args.cache, source, args.out, decisions, engines=(engine,), command=command,
                    gestures_from=None if args.gestures_from == "own" else args.gestures_from)
    return 0


def smoke(out: Path) -> int:
    """Synthesise a few festival lines, train each model a few steps, export and check ONNX parity."""
    import numpy as np
    import torch

    cache = out / "cache"
    records = corpus_mod.build_festival(2, seed=3, workers=1)
    corpus_mod.save_shard(cache / "corpus" / "festival.npz", records, "festival")
    corpus_mod.build_embeddings(cache)
    corpus = corpus_mod.load_corpus(cache)
    checkpoint = train.train(corpus, cache / "runs" / "main", steps=3, minutes=5, batch_size=2, hidden=32,
                             channels=32, workers=0)
    _export(cache, checkpoint, out / "weights", command=f"python -m training smoke --out {out}")
    regression, denoiser, _ = train.load(checkpoint)
    rng = np.random.default_rng(0)
    difference = export.max_difference_torch_onnx(
        regression, out / "weights" / "regression.onnx",
        {"features": rng.standard_normal((1, 333, 64)).astype(np.float32),
         "emotion": rng.random((1, 167, 8)).astype(np.float32),
         "embedding": rng.standard_normal((1, 167, models.EMBEDDING_DIM)).astype(np.float32)})
    print(f"smoke: regression torch vs onnx max difference {difference:.2e}")
    # a style layer a few steps from zero barely moves the output: make it count, and export that
    for layer in (denoiser.style, denoiser.style_out):
        torch.nn.init.normal_(layer.weight)
    parity = export.export_diffusion(denoiser, regression.hidden, out / "parity", {})
    diffusion = export.max_difference_torch_onnx(
        denoiser, parity,
        {"noisy": rng.standard_normal((1, 167, 52)).astype(np.float32), "timestep": np.array([420.0], np.float32),
         "audio_hidden": rng.standard_normal((1, 167, regression.hidden)).astype(np.float32),
         "emotion": rng.random((1, 167, 8)).astype(np.float32),
         "style": rng.uniform(-1, 1, (1, denoiser.style.in_features)).astype(np.float32)})
    print(f"smoke: diffusion torch vs onnx max difference {diffusion:.2e}")
    return 0 if max(difference, diffusion) < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
