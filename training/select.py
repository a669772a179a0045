"""Checkpoint selection: score a run's snapshots on the development set and pick the one to ship.

    python -m training select --run RUN [--data DIR]

A run keeps both models' weights every `train.SNAPSHOT_EVERY` steps (`<run>/snapshots/`). Each
snapshot is exported (ONNX, default seal decision) and scored like `benchmarks.quality` does on
timit_dev: the regression model and the diffusion model with seeds 0 and 1, no transcript, 30 fps.
Scores are kept in `<run>/snapshots/scores.json`, so a second call (during training, or after it)
scores only the new snapshots. The choice goes to `<run>/selected.json`; `python -m training
export` ships it.

The rule, fixed before any snapshot of a run is scored (`rank`):
1. the floors: REST >= 97, OPEN >= 95 and SYNC r >= 0.78 for each of the three models (the issue's
   bars that guard against a mouth that opens in silences, stays shut or drifts off the audio);
   the snapshot meeting more of these nine checks ranks first;
2. then the lip closures: the mean over the three models of BIL40 and of the lowest speaker's
   BIL40 (a choice should hold for every voice, not the average one).
The end of a run is a candidate like any other snapshot.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from . import export, train

log = logging.getLogger("lipkit.training")

MODELS = (("regression", "regression", 0), ("diffusion0", "diffusion", 0), ("diffusion1", "diffusion", 1))
FLOORS = {"REST": 97.0, "OPEN": 95.0, "SYNC_r": 0.78}
FPS = 30.0
SCORES_FILE = "scores.json"
SELECTED_FILE = "selected.json"


@dataclass(frozen=True)
class ModelScore:
    BIL40: float
    lowest_speaker_BIL40: float
    OPEN: float
    ROUND: float
    RFA: float
    REST: float
    SYNC_r: float


def floors_met(scores: dict[str, ModelScore]) -> int:
    """How many of the floor checks (each floor, each model) a snapshot meets."""
    return sum(getattr(score, key) >= floor for score in scores.values() for key, floor in FLOORS.items())


def closures(scores: dict[str, ModelScore]) -> float:
    """Mean over the models of BIL40 and of the lowest speaker's BIL40."""
    return sum(score.BIL40 + score.lowest_speaker_BIL40 for score in scores.values()) / (2 * len(scores))


def rank(scores: dict[str, ModelScore]) -> tuple[int, float]:
    """The selection key: larger is better."""
    return floors_met(scores), closures(scores)


def choose(scored: dict[str, dict[str, ModelScore]]) -> str:
    """The snapshot name with the best `rank`; among equals the earlier snapshot."""
    return max(sorted(scored), key=lambda name: rank(scored[name]))


def export_snapshot(snapshot: Path, out_dir: Path) -> Path:
    """Both models of a snapshot as ONNX with sidecars in `out_dir` (no training record)."""
    regression, denoiser, _ = train.load(snapshot)
    export.export_regression(regression, out_dir, {})
    export.export_diffusion(denoiser, regression.hidden, out_dir, {})
    return out_dir


def score_weights(weights_dir: Path, data_dir: Path, face_dir: Path) -> dict[str, ModelScore]:
    """The three models of a weights folder on a TIMIT-style folder, as `benchmarks.quality` scores them."""
    import os

    from benchmarks import lipmetrics, quality
    from inference import arkit, models as runtime_models

    wavs = quality.list_utterances(data_dir)
    face = lipmetrics.load_reference_face(face_dir, arkit.NAMES)
    speakers = [wav.parent.name for wav in wavs]
    previous = os.environ.get(runtime_models.WEIGHTS_ENV)
    os.environ[runtime_models.WEIGHTS_ENV] = str(weights_dir)
    try:
        result = {}
        for key, engine, seed in MODELS:
            scores, _, _ = quality.run_engine(quality.make_neural(engine, seed)(FPS), wavs, face, None)
            agg = lipmetrics.aggregate(scores)
            result[key] = ModelScore(BIL40=agg["BIL40"],
                                     lowest_speaker_BIL40=min(quality.speaker_bil40(scores, speakers).values()),
                                     **{k: agg[k] for k in ("OPEN", "ROUND", "RFA", "REST", "SYNC_r")})
    finally:
        if previous is None:
            os.environ.pop(runtime_models.WEIGHTS_ENV, None)
        else:
            os.environ[runtime_models.WEIGHTS_ENV] = previous
    return result


def read_scores(path: Path) -> dict[str, dict[str, ModelScore]]:
    if not path.exists():
        return {}
    return {name: {key: ModelScore(**values) for key, values in models.items()}
            for name, models in json.loads(path.read_text()).items()}


def table(scored: dict[str, dict[str, ModelScore]], chosen: str | None) -> str:
    lines = ["| snapshot | floors met | closures | " + " | ".join(
        f"{key} BIL40 / low / OPEN / ROUND / REST / SYNC" for key, _, _ in MODELS) + " |",
             "|---" * (3 + len(MODELS)) + "|"]
    for name in sorted(scored):
        cells = [f"{s.BIL40:.1f} / {s.lowest_speaker_BIL40:.1f} / {s.OPEN:.1f} / {s.ROUND:.1f} / {s.REST:.1f} / "
                 f"{s.SYNC_r:.3f}" for s in (scored[name][key] for key, _, _ in MODELS)]
        mark = " (chosen)" if name == chosen else ""
        lines.append(f"| {name}{mark} | {floors_met(scored[name])}/{len(FLOORS) * len(MODELS)} "
                     f"| {closures(scored[name]):.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def select(run_dir: Path, data_dir: Path, face_dir: Path) -> Path:
    """Score the run's new snapshots, choose one by `rank`, write `selected.json`; returns the snapshot."""
    snapshots = train.snapshots(run_dir)
    if not snapshots:
        raise FileNotFoundError(f"no snapshots in {run_dir / train.SNAPSHOT_FOLDER}")
    scores_path = run_dir / train.SNAPSHOT_FOLDER / SCORES_FILE
    scored = read_scores(scores_path)
    for snapshot in snapshots:
        if snapshot.stem in scored:
            continue
        log.info("scoring %s", snapshot.name)
        weights_dir = export_snapshot(snapshot, snapshot.with_suffix(""))
        scored[snapshot.stem] = score_weights(weights_dir, data_dir, face_dir)
        scores_path.write_text(json.dumps({name: {key: asdict(score) for key, score in models.items()}
                                           for name, models in scored.items()}, indent=1))
    names = {snapshot.stem for snapshot in snapshots}
    candidates = {name: scores for name, scores in scored.items() if name in names}
    chosen = choose(candidates)
    print(table(candidates, chosen))
    selected = run_dir / train.SNAPSHOT_FOLDER / f"{chosen}.pt"
    (run_dir / SELECTED_FILE).write_text(json.dumps(
        {"snapshot": selected.name, "floors_met": floors_met(candidates[chosen]),
         "closures": round(closures(candidates[chosen]), 2), "data": str(data_dir.name),
         "rule": "most of the floors REST>=97, OPEN>=95, SYNC r>=0.78 for regression and diffusion seeds 0 and 1; "
                 "then the mean of BIL40 and the lowest speaker's BIL40 over the three"}, indent=1))
    return selected


def selected_snapshot(run_dir: Path) -> Path | None:
    """The snapshot `select` chose for this run, if it has chosen one."""
    path = run_dir / SELECTED_FILE
    if not path.exists():
        return None
    return run_dir / train.SNAPSHOT_FOLDER / json.loads(path.read_text())["snapshot"]
