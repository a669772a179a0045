"""`python -m training all`: the one recipe that makes the shipped weights, stage by stage.

1. data: the corpus (`corpus.build`; every shard made once and cached).
2. voices: the corpus as the runtime hears it (`corpus.normalise_voices`): every voice above
   `VOICE` Hz played lower, into the cache beside it, `<cache>-voice150` (made once per source).
3. both models, `STEPS` steps from random weights (run `<run>` of that cache).
4. the regression engine: `select` scores that run's snapshots with `REGRESSION_DECISIONS`
   (positions of `select.DECISIONS`), and the one it ranks above the shipped weights is exported.
5. the denoiser alone, `TAKES_STEPS` more steps, on the best regression model of step 4 (run
   `<run>-takes`, `train --diffusion-only`): the diffusion engine's encoder is then the regression
   engine itself.
6. the diffusion engine: `select` scores that run's snapshots, each with the regression engine's
   decisions at each pitch of `TAKES_VOICES` (the pitch its encoder hears a voice at; its seal and
   rounding are the regression engine's, `gestures_from`), drawing the gestures of the regression
   engine that ships beside it, and seeds 2 to 7 of those whose seeds 0 and 1 meet every floor
   (`select.MORE_TAKES`); the one it ranks above the shipped weights is exported.

The corpus is named by its content (`corpus.digest`): the runs' checkpoints and the exported
sidecars (`training.corpus`) carry its digest, a run is resumed on its own corpus only, and the
recipe says at its start whether the weights in `--out` name the corpus it trains on (where they
name another, or none, it trains other weights than those).

Both runs are measured in steps, not minutes (their learning rates decay over their steps alone),
seeded, and use `THREADS` torch threads and `WORKERS` batch-making processes (with another thread
count torch sums in another order and the losses differ by step 100; more processes draw other
batches), so a rerun on the same corpus trains the same weights however loaded the machine is
(the corpus itself is made once per cache, `corpus.build`, by the code of its day). Where
a stage's run is complete it is not trained again, and `select` keeps its scores: a second call
goes on where the first stopped (a run stopped midway goes on with the random streams its
checkpoint kept, so it trains the weights of one run straight through; a denoiser run begun on
another regression model than stage 4's best is refused, not resumed). On
a checkout whose weights this recipe made, its weights tie with the shipped ones and nothing is
exported (`select`: the shipped weights win a tie);
`python -m training all --out NEWDIR` ranks them against nothing and exports both engines there.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path

import torch

from . import corpus as corpus_mod
from . import select as select_mod
from . import train

log = logging.getLogger("lipkit.training")

THREADS = 2                         # torch threads of both runs: the weights depend on it (sums split otherwise)
WORKERS = 1                         # batch-making processes (more draw other batches: train.Windows)
VOICE = 150.0                       # Hz: the corpus's voices above it are heard lower (stage 2)
STEPS = 3500                        # both models (stage 3)
REGRESSION_DECISIONS = (8, 9, 13, 16, 19, 20)   # select.DECISIONS: voices lowered from 125 Hz, the rounding and
                                                # the seal's peaks as drawn
TAKES_STEPS = 2600                  # the denoiser alone (stage 5)
TAKES_VOICES = (150.0, 125.0)       # Hz: the pitches the diffusion engine's encoder may hear voices from


def voices_cache(cache: Path, reference: float = VOICE) -> Path:
    """Where the corpus as the runtime hears it with this reference pitch goes: beside `cache`."""
    return cache.with_name(f"{cache.name}-voice{reference:g}")


def takes_run(run: str) -> str:
    """The name of the run that trains the denoiser alone on run `run`'s regression engine."""
    return f"{run}-takes"


def takes_decisions(regression: select_mod.models.Decisions) -> tuple[select_mod.models.Decisions, ...]:
    """The decisions the diffusion engine's candidates are scored with: the regression engine's,
    at each pitch of `TAKES_VOICES`."""
    return tuple(dataclasses.replace(regression, voice=voice) for voice in TAKES_VOICES)


def run(cache: Path, shared: Path, out: Path, data: Path, face: Path, *, run_name: str = "main", threads: int = THREADS,
        workers: int = WORKERS, export) -> None:
    """Every stage (the module's docstring); `export(cache, snapshot, out, decisions, engine)` ships
    one engine."""
    corpus_mod.build(cache, shared)
    from_corpus(cache, out, data, face, run_name=run_name, threads=threads, workers=workers, export=export)


def from_corpus(cache: Path, out: Path, data: Path, face: Path, *, run_name: str = "main", threads: int = THREADS,
                workers: int = WORKERS, export) -> None:
    """Stages 2 to 6 on the corpus of `cache`, scored on `data` (timit_dev) and `face` (the reference face)."""
    heard = voices_cache(cache)
    for source, (lowered, total) in corpus_mod.normalise_voices(cache, heard, VOICE, keep_existing=True).items():
        log.info("voices: %s: %d of %d utterances heard lower", source, lowered, total)
    corpus = corpus_mod.load_corpus(heard)
    check_corpus(corpus_mod.digest(corpus), out)
    both = heard / "runs" / run_name
    train.train(corpus, both, STEPS, math.inf, workers=workers, threads=threads)
    decisions = tuple(select_mod.DECISIONS[i] for i in REGRESSION_DECISIONS)
    select_mod.select(both, data, face, shipped_dir=out, decisions=decisions, engines=("regression",))
    _ship(heard, both, "regression", out, export)
    snapshot, regression = select_mod.best_snapshot(both, "regression")
    takes = heard / "runs" / takes_run(run_name)
    if started_on(takes, snapshot) is False:
        raise ValueError(f"run {takes.name} was begun on another regression model than {snapshot.parent.parent.name}'s "
                         f"{snapshot.name}, its best now: delete {takes} to train it again on that one")
    train.train(corpus, takes, TAKES_STEPS, math.inf, workers=workers, threads=threads, init_from=snapshot,
                diffusion_only=True)
    select_mod.select(takes, data, face, shipped_dir=out, decisions=takes_decisions(regression),
                      engines=("diffusion",))
    _ship(heard, takes, "diffusion", out, export)


def corpus_named(out: Path) -> str | None:
    """The digest of the corpus the regression engine in `out` was trained on, as its sidecar
    names it (`training.corpus.digest`); None where there is no engine or it names none."""
    sidecar = out / "regression.json"
    if not sidecar.exists():
        return None
    return json.loads(sidecar.read_text()).get("training", {}).get("corpus")


def check_corpus(trained_on: str, out: Path) -> bool:
    """Whether the weights in `out` name the corpus `trained_on` (or there are none to remake);
    where they name another, or none, says so: the recipe then trains other weights than those."""
    named = corpus_named(out)
    if named == trained_on or not (out / "regression.json").exists():
        log.info("corpus %s", trained_on)
        return True
    if named is None:
        log.warning("corpus %s: the weights in %s name no corpus (exported before corpora were named), so this one "
                    "may not be theirs, and the recipe may train other weights than those", trained_on, out)
    else:
        log.warning("corpus %s: the weights in %s were trained on the corpus %s, so the recipe trains other weights "
                    "than those (the cache holds another corpus: `data` made by other code, or on another day)",
                    trained_on, out, named)
    return False


def started_on(run_dir: Path, snapshot: Path) -> bool | None:
    """Whether the denoiser-only run in `run_dir` was begun on `snapshot`'s regression model: its
    weights, compared exactly (such a run leaves them as they were); None before it starts."""
    checkpoint = run_dir / "checkpoint.pt"
    if not checkpoint.exists():
        return None
    kept = torch.load(checkpoint, weights_only=False, map_location="cpu")["regression"]
    source = torch.load(snapshot, weights_only=False, map_location="cpu")["regression"]
    return kept.keys() == source.keys() and all(torch.equal(kept[key], source[key]) for key in kept)


def _ship(cache: Path, run_dir: Path, engine: str, out: Path, export) -> None:
    """Export `engine` from the snapshot `select` chose in `run_dir`, unless the shipped weights ranked first."""
    snapshot = select_mod.selected_snapshot(run_dir, engine)
    if snapshot is None:
        log.info("%s: the weights in %s rank above every snapshot of %s (or tie): kept", engine, out, run_dir.name)
        return
    export(cache, snapshot, out, select_mod.selected_decisions(run_dir, engine), engine)
