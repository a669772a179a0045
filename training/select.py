"""Checkpoint selection: score a run's snapshots on the development set and pick the one to ship.

    python -m training select --run RUN [--data DIR]

A run keeps both models' weights every `train.SNAPSHOT_EVERY` steps (`<run>/snapshots/`). Each
snapshot is exported (ONNX) once for each set of gesture decisions in `DECISIONS`
(`models.Decisions`: the seal probabilities between which the lips go from open to closed, the
floor from which a peak of the seal's probability closes them briefly, the rounding
probabilities between which they go from their own shape to rounded, and the floor from which a
peak of the rounding's probability rounds them briefly: how sure a network is of a
gesture on voices it never heard changes as it trains, so how it is drawn is chosen with it; and
the pitch above which the runtime lowers a voice before the models hear it, `inference.voice`)
and scored like `benchmarks.quality` does on timit_dev: the regression model and the diffusion
model with seeds 0 and 1, no transcript, 30 fps. A candidate is a snapshot with one set, named
"step-NNNNNN seal LOW,HIGH peak FLOOR round LOW,HIGH peak FLOOR voice HZ takes DRAWN" (`candidate_name`;
"off" for no peaks or no voice pitch; DRAWN names the styles seeds 0 and 1 draw, `takes_drawn`).
Scores are kept in `<run>/snapshots/scores.json`, so a second call (during training, or after it)
scores only the new snapshots (and the diffusion candidates again if another regression engine
is chosen). The choice goes to `<run>/selected.json`; `python -m training
export` ships it.

The rule, fixed before any snapshot of a run is scored (`rank`), applied to each engine on its
own (`ENGINES`: the regression engine is the regression model; the diffusion engine is the
denoiser's seeds 0 and 1 over its own encoder, the regression model of the same snapshot, which
ships beside it as `encoder`), so each engine ships the snapshot and decisions that suit it. The
regression engine is chosen first; the diffusion engine draws the seal and rounding of the
regression engine that ships beside it, so every diffusion candidate, the shipped one too, is
then scored drawing the gestures of the regression engine just chosen (in a folder of its own,
`with_gestures_of`; its scores are kept under its name and "gestures SHA", `gestures_tag`):
1. the floors: REST >= 97, OPEN >= 95, SYNC r >= 0.78, ROUND >= 85 and RFA <= 10 for each of the
   engine's models (the issue's bars that guard against a mouth that opens in silences, stays
   shut, drifts off the audio, leaves rounded vowels unrounded or rounds where the lips spread),
   and the issue's BIL40 bars (regression >= 90, each diffusion seed >= 88); the candidate meeting
   more of these checks ranks first. ROUND has been a floor since models reached it (the session
   that made the diffusion engine draw the regression engine's gestures); before, it only counted
   in the lips;
2. for the diffusion engine, where seeds 0 and 1 meet every floor: how many of seeds 2 to 7
   (`MORE_TAKES`, scored for those candidates only) meet every floor too. The issue asks it of
   every seed; a run of `python -m training all` chose a snapshot on seeds 0 and 1 alone whose
   seeds 3, 4, 5 and 7 missed a floor each;
3. then the lips: the mean over the engine's models of BIL40, the lowest speaker's BIL40 (a
   choice should hold for every voice, not the average one) and ROUND.
The end of a run is a candidate like any other snapshot, and so are the weights shipped today
(`weights/`, scored the same way, with the decision they were exported with): an engine whose
shipped weights rank first is not exported. `selected.json` names each engine's snapshot and
decisions, which `export` uses. Names spell every decision out, and the styles the diffusion
seeds draw, so scores kept from before a default or the take bands changed are not taken for
today's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from . import export, models, train

log = logging.getLogger("lipkit.training")

MODELS = (("regression", "regression", 0), ("diffusion0", "diffusion", 0), ("diffusion1", "diffusion", 1))
# Each engine and the models of MODELS it is chosen on.
ENGINES = {"regression": ("regression",), "diffusion": ("diffusion0", "diffusion1")}
# The issue asks every take of seeds 0 to 7 to meet the bars: a diffusion candidate whose seeds 0
# and 1 meet every floor is scored on these seeds too, and ranks by how many of them do (`rank`).
MORE_TAKES = tuple((f"diffusion{seed}", "diffusion", seed) for seed in range(2, 8))
FLOORS = {"REST": 97.0, "OPEN": 95.0, "SYNC_r": 0.78, "ROUND": 85.0}
CEILINGS = {"RFA": 10.0}
# The closure bar for each model, one floor each (a mean over the lips alone would trade
# a closure for a rounded vowel).
BIL40_FLOORS = {"regression": 90.0, **{key: 88.0 for key, _, _ in (*MODELS[1:], *MORE_TAKES)}}
FPS = 30.0
SCORES_FILE = "scores.json"
SELECTED_FILE = "selected.json"
SHIPPED = "shipped"
# The decisions every snapshot is scored with, the models' defaults first: the seal's peaks from a
# higher and a lower floor, the seal as it was drawn before its peaks (a decision alone, from
# 0.25 to 0.75), rounding readier and more reluctant, every voice heard as it is, and voices
# lowered from a lower and a higher pitch on (each also with the rounding it needed most); then
# rounding as it was drawn before its peaks (a decision alone), with each pitch above, and the
# rounding's peaks from a higher floor with the more reluctant rounding; last, the seal's peaks
# from lower floors with voices lowered from 125 Hz and the more reluctant rounding (on the
# recipe's run, training.recipe, they closed the lips at more of the lowest speaker's bilabials).
DECISIONS = (models.Decisions(), models.Decisions(seal_peak=0.2), models.Decisions(seal_peak=0.06),
             models.Decisions(seal=(0.25, 0.75), seal_peak=None),
             models.Decisions(rounding=(0.15, 0.5)), models.Decisions(rounding=(0.4, 0.9)),
             models.Decisions(voice=None), models.Decisions(rounding=(0.15, 0.5), voice=None),
             models.Decisions(voice=125.0), models.Decisions(rounding=(0.4, 0.9), voice=125.0),
             models.Decisions(voice=175.0), models.Decisions(rounding=(0.4, 0.9), voice=175.0),
             models.Decisions(round_peak=None), models.Decisions(round_peak=None, voice=125.0),
             models.Decisions(seal_peak=0.2, round_peak=None),
             models.Decisions(rounding=(0.4, 0.9), round_peak=0.2), models.Decisions(rounding=(0.4, 0.9), voice=125.0,
                                                                                     round_peak=0.2),
             models.Decisions(seal_peak=0.2, rounding=(0.4, 0.9)), models.Decisions(seal_peak=0.2, rounding=(0.4, 0.9),
                                                                                    round_peak=0.2),
             models.Decisions(seal_peak=0.09, rounding=(0.4, 0.9), voice=125.0),
             models.Decisions(seal_peak=0.06, rounding=(0.4, 0.9), voice=125.0))


def describe(decisions: models.Decisions) -> str:
    """"seal LOW,HIGH peak FLOOR round LOW,HIGH peak FLOOR voice HZ" ("off" for no peaks, or no
    voice's reference pitch)."""
    def number(value):
        return "off" if value is None else f"{value:g}"
    return (f"seal {decisions.seal[0]:g},{decisions.seal[1]:g} peak {number(decisions.seal_peak)} "
            f"round {decisions.rounding[0]:g},{decisions.rounding[1]:g} peak {number(decisions.round_peak)} "
            f"voice {number(decisions.voice)}")


def takes_drawn() -> str:
    """Eight hex digits naming the styles the diffusion model's seeds 0 and 1 draw (the runtime's
    `take_style` in `export.TAKE_BANDS`): a diffusion take's scores depend on them, so scores kept
    from before the bands or the draw changed are not taken for today's."""
    from types import SimpleNamespace

    import numpy as np

    from inference import neural
    sidecar = {"inputs": {neural.STYLE_INPUT: [1, models.NUM_STYLE]}, "style": export.style_record()}
    drawn = np.concatenate([neural.take_style(SimpleNamespace(sidecar=sidecar), seed) for seed in (0, 1)])
    return hashlib.sha256(drawn.astype(np.float32).tobytes()).hexdigest()[:8]


def candidate_name(snapshot: Path, decisions: models.Decisions = models.Decisions()) -> str:
    """"step-NNNNNN seal LOW,HIGH peak FLOOR round LOW,HIGH peak FLOOR voice HZ takes DRAWN": the snapshot,
    every decision and the takes' styles (`takes_drawn`)."""
    return f"{snapshot.stem} {describe(decisions)} takes {takes_drawn()}"


def parse_candidate(name: str) -> tuple[str, models.Decisions]:
    """(snapshot stem, decisions) of a `candidate_name` (with or without its takes)."""
    stem, _, seal, _, seal_peak, _, rounding, _, round_peak, _, reference = name.split(" ")[:11]

    def pair(text):
        return tuple(float(part) for part in text.split(","))

    def number(text):
        return None if text == "off" else float(text)
    return stem, models.Decisions(seal=pair(seal), seal_peak=number(seal_peak), rounding=pair(rounding),
                                  round_peak=number(round_peak), voice=number(reference))


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
    """How many of the floor checks (each floor and ceiling, each model, and each model's BIL40
    floor) a candidate meets."""
    return sum(sum(getattr(score, key) >= floor for key, floor in FLOORS.items())
               + sum(getattr(score, key) <= ceiling for key, ceiling in CEILINGS.items())
               + (score.BIL40 >= BIL40_FLOORS[model]) for model, score in scores.items())


def floor_count(engine: str | None = None) -> int:
    """How many floor checks there are for an engine's models (None: all three models)."""
    keys = ENGINES[engine] if engine else [key for key, _, _ in MODELS]
    return (len(FLOORS) + len(CEILINGS) + 1) * len(keys)


def lips(scores: dict[str, ModelScore]) -> float:
    """Mean over the models of BIL40, the lowest speaker's BIL40 and ROUND."""
    return sum(score.BIL40 + score.lowest_speaker_BIL40 + score.ROUND for score in scores.values()) / (3 * len(scores))


def engine_scores(scores: dict[str, ModelScore], engine: str) -> dict[str, ModelScore]:
    """The scores of the models `engine` is chosen on."""
    return {key: scores[key] for key in ENGINES[engine]}


def takes_holding(scores: dict[str, ModelScore]) -> int:
    """How many of the seeds of `MORE_TAKES` scored for a candidate meet every floor."""
    return sum(floors_met({key: scores[key]}) == floor_count() // len(MODELS) for key, _, _ in MORE_TAKES
               if key in scores)


def rank(scores: dict[str, ModelScore], engine: str) -> tuple[int, int, float]:
    """The selection key of one engine, larger is better: the floors its models meet, then (the
    diffusion engine) how many more seeds' takes meet every floor, then the lips."""
    own = engine_scores(scores, engine)
    return floors_met(own), takes_holding(scores) if engine == "diffusion" else 0, lips(own)


def choose(scored: dict[str, dict[str, ModelScore]], engine: str) -> str:
    """The candidate with `engine`'s best `rank`; among equals the shipped weights, then the earlier snapshot."""
    order = sorted(scored, key=lambda name: (name != SHIPPED, name))
    return max(order, key=lambda name: rank(scored[name], engine))


def export_snapshot(snapshot: Path, out_dir: Path, decisions: models.Decisions = models.Decisions()) -> Path:
    """Both engines of a snapshot, with these decisions, as ONNX with sidecars in `out_dir` (no
    training record): the regression model, and the denoiser with its encoder (the same
    regression model), drawing the regression model's gestures as the shipped diffusion engine
    draws the shipped regression engine's."""
    regression, denoiser, _ = train.load(snapshot)
    regression.gesture_decisions = denoiser.gesture_decisions = decisions
    export.export_regression(regression, out_dir, {})
    export.export_regression(regression, out_dir, {}, name=export.ENCODER)
    export.export_diffusion(denoiser, regression.hidden, out_dir, {}, gestures_from="regression")
    return out_dir


def score_weights(weights_dir: Path, data_dir: Path, face_dir: Path, keys=None) -> dict[str, ModelScore]:
    """The models of a weights folder (`keys` of `MODELS` and `MORE_TAKES`, default the three of
    `MODELS`) on a TIMIT-style folder, as `benchmarks.quality` scores them."""
    from benchmarks import lipmetrics, quality
    from inference import arkit

    wavs = quality.list_utterances(data_dir)
    face = lipmetrics.load_reference_face(face_dir, arkit.NAMES)
    speakers = [wav.parent.name for wav in wavs]
    result = {}
    for key, engine, seed in (*MODELS, *MORE_TAKES):
        if key not in (keys if keys is not None else ENGINES["regression"] + ENGINES["diffusion"]):
            continue
        scores, _, _ = quality.run_engine(quality.make_neural(engine, seed, weights_dir)(FPS), wavs, face, None)
        agg = lipmetrics.aggregate(scores)
        result[key] = ModelScore(BIL40=agg["BIL40"],
                                 lowest_speaker_BIL40=min(quality.speaker_bil40(scores, speakers).values()),
                                 **{k: agg[k] for k in ("OPEN", "ROUND", "RFA", "REST", "SYNC_r")})
    return result


def gestures_tag(weights_dir: Path) -> str:
    """"gestures SHA": names the regression model (the first 12 hex digits of its sha256) whose
    gestures a diffusion candidate drew when it was scored."""
    return f"gestures {json.loads((weights_dir / 'regression.json').read_text())['sha256'][:12]}"


def with_gestures_of(diffusion_dir: Path, gestures_dir: Path, out_dir: Path) -> Path:
    """`out_dir` with the diffusion engine of `diffusion_dir` (its denoiser and encoder) beside the
    regression model of `gestures_dir`: that diffusion engine drawing that regression engine's
    gestures."""
    out_dir.mkdir(parents=True, exist_ok=True)
    denoiser = json.loads((diffusion_dir / "diffusion.json").read_text())
    for name, source in (("diffusion", diffusion_dir), (denoiser["requires"], diffusion_dir), ("regression", gestures_dir)):
        sidecar = json.loads((source / f"{name}.json").read_text())
        shutil.copyfile(source / sidecar["file"], out_dir / sidecar["file"])
        shutil.copyfile(source / f"{name}.json", out_dir / f"{name}.json")
    return out_dir


def read_scores(path: Path) -> dict[str, dict[str, ModelScore]]:
    if not path.exists():
        return {}
    return {name: {key: ModelScore(**values) for key, values in models.items()}
            for name, models in json.loads(path.read_text()).items()}


def table(scored: dict[str, dict[str, ModelScore]], chosen: dict[str, str]) -> str:
    """The candidates' scores, each chosen engine's floors met and lips, and which each engine chose
    (the models of the engines in `chosen` only)."""
    keys = [key for key, _, _ in MODELS if any(key in ENGINES[engine] for engine in chosen)]
    lines = ["| candidate | " + " | ".join(f"{engine} floors | {engine} lips" for engine in chosen) + " | " + " | ".join(
        f"{key} BIL40 / low / OPEN / ROUND / RFA / REST / SYNC" for key in keys) + " |",
             "|---" * (1 + 2 * len(chosen) + len(keys)) + "|"]
    for name in sorted(scored):
        cells = [f"{s.BIL40:.1f} / {s.lowest_speaker_BIL40:.1f} / {s.OPEN:.1f} / {s.ROUND:.1f} / {s.RFA:.1f} / {s.REST:.1f} / "
                 f"{s.SYNC_r:.3f}" for s in (scored[name][key] for key in keys)]
        marks = "".join(f" ({engine} chosen)" for engine, choice in chosen.items() if choice == name)
        ranks = [f"{floors_met(engine_scores(scored[name], engine))}/{floor_count(engine)}{other_seeds_cell(scored[name], engine)} | "
                 f"{lips(engine_scores(scored[name], engine)):.1f}" for engine in chosen]
        lines.append(f"| {name}{marks} | " + " | ".join(ranks) + " | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def other_seeds_cell(scores: dict[str, ModelScore], engine: str) -> str:
    """", seeds 2-7 N/M": how many of the other seeds scored meet every floor ("" where none was)."""
    scored = sum(key in scores for key, _, _ in MORE_TAKES)
    return f", seeds 2-7 {takes_holding(scores)}/{scored}" if engine == "diffusion" and scored else ""


def _write_scores(path: Path, scored: dict[str, dict[str, ModelScore]]) -> None:
    path.write_text(json.dumps({name: {key: asdict(score) for key, score in models.items()}
                                for name, models in scored.items()}, indent=1))


def select(run_dir: Path, data_dir: Path, face_dir: Path, shipped_dir: Path = export.WEIGHTS_DIR,
           decisions=DECISIONS, engines=tuple(ENGINES)) -> dict[str, Path | None]:
    """Score the run's new candidates (each snapshot with each set of `decisions`) and
    the shipped weights, choose each engine of `engines` by `rank`, write `selected.json`; returns
    each engine's chosen snapshot, or None where the shipped weights rank first.

    Without "regression" in `engines` no candidate's regression model is scored: the diffusion
    candidates draw the gestures of the shipped regression engine (a run that trained the
    denoiser alone on it). `selected.json` also names each engine's best snapshot of the run
    (`best`), whether or not the shipped weights rank above it: the snapshot a recipe goes on from
    (`training.recipe`), since a rerun that makes the shipped weights again only ties with them.
    Where `shipped_dir` holds no engines (a recipe run into a new folder) there are no shipped
    weights to rank against; for the diffusion engine alone it needs the regression engine."""
    snapshots = train.snapshots(run_dir)
    if not snapshots:
        raise FileNotFoundError(f"no snapshots in {run_dir / train.SNAPSHOT_FOLDER}")
    scores_path = run_dir / train.SNAPSHOT_FOLDER / SCORES_FILE
    scored = read_scores(scores_path)
    shipped = None
    if all((shipped_dir / f"{name}.json").exists() for name in ("regression", "diffusion")):
        shipped = SHIPPED + "".join(f" {json.loads((shipped_dir / f'{name}.json').read_text())['sha256'][:12]}"
                                    for name in ("regression", "diffusion")) + f" takes {takes_drawn()}"
    elif "regression" not in engines and not (shipped_dir / "regression.json").exists():
        raise FileNotFoundError(f"no regression engine in {shipped_dir} for the diffusion candidates to draw the "
                                "gestures of: select the regression engine first")
    if shipped is not None and shipped not in scored:
        log.info("scoring the shipped weights in %s", shipped_dir)
        scored[shipped] = score_weights(shipped_dir, data_dir, face_dir)
        _write_scores(scores_path, scored)
    named = [(candidate_name(snapshot, chosen), snapshot, chosen) for snapshot in snapshots for chosen in decisions]

    def folder(name: str) -> Path:
        return run_dir / train.SNAPSHOT_FOLDER / name.replace(" ", "-")

    # the regression engine first: each candidate's regression model
    regression = SHIPPED
    if "regression" in engines:
        for name, snapshot, chosen in named:
            if "regression" in scored.get(name, {}):
                continue
            log.info("scoring %s (regression)", name)
            export_snapshot(snapshot, folder(name), chosen)
            scored.setdefault(name, {}).update(score_weights(folder(name), data_dir, face_dir, ENGINES["regression"]))
            _write_scores(scores_path, scored)
        pool = {name: scored[name] for name, _, _ in named}
        if shipped is not None:
            pool[SHIPPED] = scored[shipped]
        regression = choose(pool, "regression")
    # then the diffusion engine: each candidate's denoiser, and the shipped one, drawing the
    # gestures of the regression engine that ships beside it (the one just chosen), as the
    # exported engines will
    gestures_dir = shipped_dir if regression == SHIPPED else folder(regression)
    tag = gestures_tag(gestures_dir)
    if regression == SHIPPED and shipped is not None:   # the shipped engines as they are: scored already
        drawn = scored.setdefault(f"{shipped} {tag}", {})
        for key in ENGINES["diffusion"]:
            drawn.setdefault(key, scored[shipped][key])
    diffusion_candidates = [*([(shipped, None, None)] if shipped else []), *named]
    for name, snapshot, chosen in diffusion_candidates:
        if f"{name} {tag}" in scored or "diffusion" not in engines:
            continue
        log.info("scoring %s (the diffusion engine, drawing the %s)", name, tag)
        if snapshot is not None and not (folder(name) / "diffusion.json").exists():
            export_snapshot(snapshot, folder(name), chosen)
        drawing = with_gestures_of(shipped_dir if snapshot is None else folder(name), gestures_dir,
                                   folder(f"{name} {tag}"))
        scored[f"{name} {tag}"] = score_weights(drawing, data_dir, face_dir, ENGINES["diffusion"])
        _write_scores(scores_path, scored)

    # then the other seeds' takes of every diffusion candidate whose seeds 0 and 1 meet every floor
    for name, snapshot, chosen in diffusion_candidates:
        drawn = scored.get(f"{name} {tag}", {})
        if "diffusion" not in engines or floors_met(engine_scores(drawn, "diffusion")) < floor_count("diffusion") \
                or all(key in drawn for key, _, _ in MORE_TAKES):
            continue
        log.info("scoring %s (seeds 2-7 of the diffusion engine, drawing the %s)", name, tag)
        as_shipped = snapshot is None and regression == SHIPPED
        drawn.update(score_weights(shipped_dir if as_shipped else folder(f"{name} {tag}"), data_dir, face_dir,
                                   [key for key, _, _ in MORE_TAKES]))
        _write_scores(scores_path, scored)

    def own_scores(name: str) -> dict[str, ModelScore]:
        """The scores of the models `engines` are chosen on (a diffusion engine's drawing `tag`,
        with its other seeds' where they were scored)."""
        mine = {**scored.get(name, {}), **scored.get(f"{name} {tag}", {})}
        more = [key for key, _, _ in MORE_TAKES if key in mine] if "diffusion" in engines else []
        return {key: mine[key] for key in [*(key for engine in engines for key in ENGINES[engine]), *more]}
    candidates = {name: own_scores(name) for name, _, _ in named}
    if shipped is not None:
        candidates[SHIPPED] = own_scores(shipped)
    chosen = {engine: choose(candidates, engine) for engine in engines}
    best = {engine: choose({name: candidates[name] for name, _, _ in named}, engine) for engine in engines}
    print(table(candidates, chosen))
    record = {}
    for engine, name in chosen.items():
        stem, decisions_best = parse_candidate(best[engine])
        snapshot, decided = None, {}
        if name != SHIPPED:
            snapshot, decided = f"{stem}.pt", decisions_best.sidecar()
        own = engine_scores(candidates[name], engine)
        record[engine] = {"snapshot": snapshot, "shipped_ranks_first": snapshot is None, **decided,
                          "floors_met": floors_met(own), "floors": floor_count(engine), "lips": round(lips(own), 2),
                          **({"seeds_2_to_7_meeting_every_floor": takes_holding(candidates[name])}
                             if engine == "diffusion" else {}),
                          "best": {"snapshot": f"{stem}.pt", **decisions_best.sidecar()}}
    (run_dir / SELECTED_FILE).write_text(json.dumps(
        {**record, "data": str(data_dir.name),
         "rule": "for each engine on its own (regression: the regression model; diffusion: seeds 0 and 1), each "
                 "snapshot with each set of gesture decisions; most of the floors REST>=97, OPEN>=95, SYNC r>=0.78, "
                 "ROUND>=85, RFA<=10, BIL40>=90 (regression) or >=88 (each seed); then (diffusion, where seeds 0 and 1 meet "
                 "them all) how many of seeds 2 to 7 meet them all; then the mean of BIL40, the lowest speaker's "
                 "BIL40 and ROUND over the engine's models; the shipped weights are a candidate too"}, indent=1))
    return {engine: None if entry["snapshot"] is None else run_dir / train.SNAPSHOT_FOLDER / entry["snapshot"]
            for engine, entry in record.items()}


def selection(run_dir: Path, engine: str) -> dict | None:
    """What `select` chose for `engine` in this run (`selected.json`), if it has chosen. A file
    from before engines were chosen on their own holds one choice, for both."""
    path = run_dir / SELECTED_FILE
    if not path.exists():
        return None
    chosen = json.loads(path.read_text())
    if any(name in chosen for name in ENGINES):
        return chosen.get(engine)       # None: this run's select chose the other engine alone
    return chosen


def selected_decisions(run_dir: Path, engine: str) -> models.Decisions | None:
    """The gesture decisions `select` chose with `engine`'s snapshot; None if it has not chosen a snapshot."""
    chosen = selection(run_dir, engine)
    return models.Decisions.from_sidecar(chosen) if chosen and chosen["snapshot"] else None


def best_snapshot(run_dir: Path, engine: str) -> tuple[Path, models.Decisions] | None:
    """`engine`'s best snapshot of the run and its decisions, whether or not the shipped weights
    ranked above it; None if `select` has not chosen that engine in this run."""
    chosen = selection(run_dir, engine)
    if not chosen or "best" not in chosen:
        return None
    return run_dir / train.SNAPSHOT_FOLDER / chosen["best"]["snapshot"], models.Decisions.from_sidecar(chosen["best"])


def selected_snapshot(run_dir: Path, engine: str) -> Path | None:
    """The snapshot `select` chose for `engine`; None if it has not chosen or chose the shipped weights."""
    chosen = selection(run_dir, engine)
    if not chosen or not chosen["snapshot"]:
        return None
    return run_dir / train.SNAPSHOT_FOLDER / chosen["snapshot"]
