"""One training run for both models: the regression model and the diffusion denoiser on its encoding.

Every step trains the regression model on a batch and the denoiser on the same batch, fed the
regression model's `audio_hidden` detached (the denoiser never changes the encoder), at a random
noise level, with the emotion dropped to the "no emotion" token now and then for classifier-free
guidance. Both also learn the lip gestures, the bilabial seal and rounding (binary cross-entropy,
`GESTURE_WEIGHT`), that their heads impose on the lips (`models.gesture_decode`). Sharing the encoder's forward pass halves the
cost, which is what makes both models fit in this machine's two cores.

The run keeps `<run_dir>/checkpoint.pt` (both models, optimiser, step, the digest of the corpus
it trains on, `corpus.digest`, and where its random streams are: each batch-making process's and
torch's) and resumes from it, on that corpus only, drawing the batches and noise the run would
have drawn next, so a run of N steps stopped and resumed (with one batch-making process or none,
in the same number of torch threads) trains the weights of one run straight through; `minutes`
bounds one call's wall time. Every `SNAPSHOT_EVERY` steps it also keeps both models' weights as
`<run_dir>/snapshots/step-NNNNNN.pt`, from which `training.select` picks the one to ship (the best
point of a run is not always its end). A new run can start from another run's weights (`init_from`, a
fine-tune: fresh optimiser and learning-rate schedule, the earlier steps counted in `base_steps`).
Snapshots, and the weights `load` gives for export or a fine-tune, are an exponential moving
average of the trained weights (`EMA_DECAY`; the checkpoint keeps both, and resumes from the
trained ones): the average of the last few hundred steps is smoother than any one step's weights.
A fine-tune with `diffusion_only` keeps the regression model as it is (its weights, and so the
`audio_hidden` the denoiser reads, stay the same) and trains the denoiser alone; its
windows skip the feature-domain augmentation, which is there to make the encoder robust and would
only show a frozen encoder's denoiser inputs it never meets at run time. A fine-tune with
`gesture_only` (a name in `models.GESTURES`) trains that gesture's logit alone, in both models:
its row of their output layers (`gesture_rows`), every other weight as it was, so the curves and
the other gesture come out exactly as before and only where that gesture is decided changes. A
fine-tune with `style_only` (names in `targets.STYLE_NAMES`) trains the denoiser's style input
columns for those entries alone (`style_columns`), on the regression model as it is: with those
entries at 0 the denoiser draws every take exactly as before. A worker process makes batches while
the main process trains.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from inference import arkit

from . import corpus as corpus_mod
from . import dataset, models, targets
from .corpus import Utterance

log = logging.getLogger("lipkit.training")

# The channels the lip metrics look at carry more weight in the loss.
KEY_CHANNELS = ("jawOpen", "mouthClose", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthFunnel",
                "mouthRollLower", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
                "mouthUpperUpRight", "mouthStretchLeft", "mouthStretchRight")
KEY_WEIGHT = 3.0
VELOCITY_WEIGHT = 0.5
GESTURE_WEIGHT = 0.3
DROP_EMOTION_PROBABILITY = 0.15
SAVE_EVERY_S = 300
SNAPSHOT_EVERY = 400    # steps between the weights kept for checkpoint selection (`training.select`)
SNAPSHOT_FOLDER = "snapshots"
WORKER_SEED_STRIDE = 1_000_003  # batch-making process i draws from seed + i * stride (no run has that many steps)
EMA_DECAY = 0.998       # the weight average's horizon: about 1 / (1 - EMA_DECAY) = 500 steps


def channel_weights() -> torch.Tensor:
    weights = torch.ones(arkit.NUM_CHANNELS)
    for name in KEY_CHANNELS:
        weights[arkit.INDEX[name]] = KEY_WEIGHT
    return weights / weights.mean()


def curve_loss(prediction, target, weights):
    """Weighted L1 on values and on frame-to-frame steps."""
    value = ((prediction - target).abs() * weights).mean()
    velocity = (((prediction[:, 1:] - prediction[:, :-1]) - (target[:, 1:] - target[:, :-1])).abs() * weights).mean()
    return value + VELOCITY_WEIGHT * velocity


class Windows(IterableDataset):
    """Endless seeded batches of training windows. Each batch-making process draws its own stream
    (the first one the run's seed), so that two processes do not hand the run the same batches.
    Each batch comes with the process's number and its stream's state after it (`Drawn`); given
    those states (`streams`), the processes go on from them instead of from their seeds."""

    def __init__(self, corpus: dict[str, list[Utterance]], batch_size: int, seed: int, augment_features: bool = True,
                 source_weights: dict[str, float] | None = None, streams: dict[int, dict] | None = None):
        self.corpus, self.batch_size, self.seed = corpus, batch_size, seed
        self.augment_features, self.source_weights, self.streams = augment_features, source_weights, streams or {}

    def __iter__(self):
        worker = get_worker_info()
        number = worker.id if worker is not None else 0
        sampler = dataset.Sampler(self.corpus, self.seed + WORKER_SEED_STRIDE * number,
                                  augment_features=self.augment_features, source_weights=self.source_weights)
        if number in self.streams:
            sampler.rng.bit_generator.state = self.streams[number]
        while True:
            batch = sampler.batch(self.batch_size)
            yield Drawn((torch.from_numpy(batch.features), torch.from_numpy(batch.embedding),
                         torch.from_numpy(batch.emotion), torch.from_numpy(batch.targets),
                         torch.from_numpy(batch.gestures), torch.from_numpy(batch.style)),
                        number, sampler.rng.bit_generator.state)


class Drawn(NamedTuple):
    """One batch (features, embedding, emotion, targets, gestures, style), the number of the
    process that made it, and that process's stream state after it: what a checkpoint keeps
    (`stream_states`) so that a resumed run draws the batches the run would have drawn next."""
    batch: tuple
    process: int
    state: dict


def _as_drawn(item: Drawn) -> Drawn:
    """The DataLoader's conversion of each batch: none (the batch is tensors already, and its stream
    state stays as it is)."""
    return item


def feature_statistics(corpus, seed: int, batches: int = 20) -> tuple[np.ndarray, ...]:
    """(feature mean, std, embedding mean, std) over random training windows."""
    sampler = dataset.Sampler(corpus, seed + 7919)
    drawn = [sampler.batch(16) for _ in range(batches)]
    features = np.concatenate([batch.features.reshape(-1, models.NUM_MELS) for batch in drawn])
    embedding = np.concatenate([batch.embedding.reshape(-1, models.EMBEDDING_DIM) for batch in drawn])
    return features.mean(axis=0), features.std(axis=0) + 1e-3, embedding.mean(axis=0), embedding.std(axis=0) + 1e-3


def learning_rate(step: int, progress: float, peak: float, warmup: int = 200) -> float:
    """Linear warm-up, then a cosine decay over `progress` (0..1 of the run, by steps or time)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def gesture_loss(logits, gestures):
    """Binary cross-entropy of the predicted gestures (logits [B, 2, T]) against the articulated
    ones [B, T, 2], summed over the gestures."""
    return len(models.GESTURES) * torch.nn.functional.binary_cross_entropy_with_logits(
        logits, gestures.transpose(1, 2))


def diffusion_loss(denoiser, hidden, emotion, target, gestures, style, weights):
    clean = target * 2.0 - 1.0
    timestep = torch.randint(1, models.TRAIN_STEPS + 1, (clean.shape[0],))
    level = models.alpha_bar(timestep).reshape(-1, 1, 1)
    noisy = level.sqrt() * clean + (1 - level).sqrt() * torch.randn_like(clean)
    drop = (torch.rand(clean.shape[0], 1, 1) < DROP_EMOTION_PROBABILITY).float()
    emotion_in = emotion * (1 - drop) + models.UNCONDITIONAL_EMOTION * drop
    x0, logits = denoiser.predict(noisy, timestep.float(), hidden, emotion_in, style)
    return curve_loss(x0, clean, weights) + GESTURE_WEIGHT * gesture_loss(logits, gestures)


def _save(path: Path, **state) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def snapshot_path(run_dir: Path, step: int) -> Path:
    return run_dir / SNAPSHOT_FOLDER / f"step-{step:06d}.pt"


def snapshots(run_dir: Path) -> list[Path]:
    """The run's snapshots, in step order."""
    return sorted((run_dir / SNAPSHOT_FOLDER).glob("step-*.pt"))


def regression_steps(state: dict) -> int:
    """Steps that trained the regression model, of all the steps behind a checkpoint's state."""
    earlier = state.get("regression_base", state.get("base_steps", 0))
    return earlier + (0 if state.get("diffusion_only") else state["step"])


def gesture_rows(model: torch.nn.Module, gesture: str) -> list[torch.nn.Parameter]:
    """The parameters of `model`'s output layers (`GESTURE_LAYERS`), with every other parameter
    frozen and the gradients of these masked to `gesture`'s row: an optimiser without weight
    decay given them changes that row alone."""
    row = models.NUM_CHANNELS + models.GESTURES.index(gesture)
    masked = []
    for layer in model.GESTURE_LAYERS:
        for parameter in model.get_submodule(layer).parameters():
            mask = torch.zeros_like(parameter)
            mask[row] = 1.0
            masked.append((parameter, mask))
    return train_only(model, masked)


def train_only(model: torch.nn.Module, masked) -> list[torch.nn.Parameter]:
    """The parameters of `masked` ((parameter, mask) pairs), every other parameter of `model`
    frozen and each of these learning only where its mask is 1 (its gradient multiplied by it)."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for parameter, mask in masked:
        parameter.requires_grad_(True)
        parameter.register_hook(lambda grad, mask=mask: grad * mask)
    return [parameter for parameter, _ in masked]


def style_columns(denoiser: models.Denoiser, names) -> list[torch.nn.Parameter]:
    """The denoiser's style layers' weights, with every other parameter frozen and the gradients
    of these masked to the input columns of the style entries `names` (both parts of each in the
    direct path, `Denoiser.style_out`): an optimiser without weight decay given them changes those
    columns alone."""
    unknown = sorted(set(names) - set(targets.STYLE_NAMES))
    if unknown:
        raise ValueError(f"no style entry {', '.join(unknown)}: the entries are {', '.join(targets.STYLE_NAMES)}")
    columns = [targets.STYLE_NAMES.index(name) for name in names]
    masked = []
    for layer, positions in ((denoiser.style, columns), (denoiser.style_out, columns + [models.NUM_STYLE + c for c in columns])):
        mask = torch.zeros_like(layer.weight)
        mask[:, positions] = 1.0
        masked.append((layer.weight, mask))
    return train_only(denoiser, masked)


def ema_update(average: torch.nn.Module, model: torch.nn.Module, step: int, decay: float = EMA_DECAY) -> None:
    """Move `average`'s parameters towards `model`'s; early steps move further (decay at most
    (1 + step) / (10 + step)), so the random initialisation does not linger in the average."""
    decay = min(decay, (1 + step) / (10 + step))
    with torch.no_grad():
        for kept, new in zip(average.parameters(), model.parameters()):
            kept.lerp_(new, 1.0 - decay)


def load(checkpoint: Path, average: bool = True) -> tuple[models.RegressionModel, models.Denoiser, dict]:
    """(regression model, denoiser, the checkpoint's state) in eval mode: the weight average where
    the checkpoint has one and `average`, else the trained weights."""
    state = torch.load(checkpoint, weights_only=False)
    prefix = "ema_" if average and "ema_regression" in state else ""
    regression = models.RegressionModel(state["hidden"])
    regression.load_state_dict(models.fitted_state(regression, state[prefix + "regression"]))
    denoiser = models.Denoiser(state["hidden"], state["channels"])
    missing, unexpected = denoiser.load_state_dict(models.fitted_state(denoiser, state[prefix + "denoiser"]),
                                                   strict=False)
    # a denoiser trained before the style input keeps its zero-initialised (inactive) style layer
    if unexpected or any(not name.startswith(("style.", "style_out.")) for name in missing):
        raise RuntimeError(f"{checkpoint} does not fit the denoiser: missing {missing}, unexpected {unexpected}")
    return regression.eval(), denoiser.eval(), state


def train(corpus, run_dir: Path, steps: int, minutes: float, batch_size: int = 16, seed: int = 0,
          hidden: int = 160, channels: int = 96, lr: float = 2e-3, workers: int = 1, threads: int = 2,
          init_from: Path | None = None, diffusion_only: bool = False, snapshot_every: int = SNAPSHOT_EVERY,
          source_weights: dict[str, float] | None = None, ema_decay: float = EMA_DECAY,
          gesture_only: str | None = None, style_only: tuple[str, ...] | None = None) -> Path:
    """Train (or resume) both models until `steps` or `minutes` of training in all (resumed runs
    count their earlier time); the learning rate decays over whichever runs out first. A new run
    with `init_from` (a checkpoint) starts from those weights instead of random ones;
    `diffusion_only` trains the denoiser alone on the regression model as it is. `source_weights`
    (default `dataset.SOURCE_WEIGHTS`) say how often each corpus source is drawn; `ema_decay` 0
    keeps no weight average (snapshots are then the trained weights); `gesture_only` trains that
    gesture's logit alone (`gesture_rows`), `style_only` those style entries' columns alone
    (`style_columns`, the denoiser only)."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    checkpoint = run_dir / "checkpoint.pt"
    base_steps = regression_base = 0
    trained_on = corpus_mod.digest(corpus)
    if checkpoint.exists():
        regression, denoiser, state = load(checkpoint, average=False)
        if state["regression"]["head.4.bias"].shape != regression.head[-1].bias.shape:
            raise ValueError(f"{checkpoint} was trained before the rounding gesture: its optimiser cannot "
                             f"resume; start a new run from it with --init-from {checkpoint}")
        if state.get("corpus") not in (None, trained_on):
            raise ValueError(f"{checkpoint} was trained on the corpus {state['corpus']}, and this cache holds "
                             f"{trained_on} (training.corpus.digest): resume it on its own corpus, or start a new "
                             f"run from it with --init-from {checkpoint}")
        trained_on = state.get("corpus")      # None: a run from before corpora were named is not named now
        step, elapsed, base_steps = state["step"], state["elapsed"], state.get("base_steps", 0)
        seed = state.get("seed", 0)
        regression_base = state.get("regression_base", base_steps)
    elif init_from is not None:
        regression, denoiser, earlier = load(init_from)
        base_steps = earlier.get("base_steps", 0) + earlier["step"]
        regression_base = regression_steps(earlier)
        state, step, elapsed = None, 0, 0.0
        log.info("fine-tuning from %s (%d steps)", init_from, base_steps)
    else:
        regression, denoiser, state, step = (models.RegressionModel(hidden, *feature_statistics(corpus, seed)),
                                             models.Denoiser(hidden, channels), None, 0)
        elapsed = 0.0
    if state is not None:
        diffusion_only = state.get("diffusion_only", diffusion_only)
        gesture_only = state.get("gesture_only", gesture_only)
        style_only = state.get("style_only", style_only)
    if style_only:
        if gesture_only is not None:
            raise ValueError("a run trains either one gesture or some style entries, not both")
        diffusion_only = True
    if gesture_only is not None and gesture_only not in models.GESTURES:
        raise ValueError(f"no gesture {gesture_only!r}: the models' gestures are {', '.join(models.GESTURES)}")
    averages = None
    if ema_decay:
        averages = (models.RegressionModel(regression.hidden), models.Denoiser(regression.hidden, denoiser.channels))
        for average, model, key in zip(averages, (regression, denoiser), ("ema_regression", "ema_denoiser")):
            kept = state.get(key) if state is not None else None
            average.load_state_dict(models.fitted_state(average, kept) if kept is not None else model.state_dict())
            average.eval()
    if style_only:
        parameters = style_columns(denoiser, style_only)
    elif gesture_only is not None:
        parameters = gesture_rows(denoiser, gesture_only) + ([] if diffusion_only else gesture_rows(regression, gesture_only))
    else:
        parameters = list(denoiser.parameters()) + ([] if diffusion_only else list(regression.parameters()))
    optimiser = torch.optim.AdamW(parameters, lr=lr, weight_decay=0.0 if gesture_only or style_only else 1e-4)
    if state is not None:
        optimiser.load_state_dict(state["optimiser"])
    loss_weights = channel_weights()
    # a run resumed from a checkpoint that kept its batch streams goes on with them; one from
    # before they were kept starts new ones from `seed + step`
    streams = dict(state.get("stream_states") or {}) if state is not None else {}
    batches = iter(DataLoader(Windows(corpus, batch_size, seed if streams or not step else seed + step,
                                      augment_features=not diffusion_only, source_weights=source_weights,
                                      streams=streams),
                              batch_size=None, num_workers=workers, persistent_workers=workers > 0,
                              collate_fn=_as_drawn))

    def weights(average: bool) -> dict:
        """What a snapshot keeps (`average`: the weight average, if the run keeps one) and the checkpoint."""
        shipped = averages if average and averages else (regression, denoiser)
        return dict(regression=shipped[0].state_dict(), denoiser=shipped[1].state_dict(), step=step,
                    hidden=regression.hidden, channels=denoiser.channels, base_steps=base_steps,
                    diffusion_only=diffusion_only, gesture_only=gesture_only, style_only=style_only,
                    regression_base=regression_base, seed=seed, corpus=trained_on,
                    source_weights=source_weights or dataset.SOURCE_WEIGHTS, ema_decay=ema_decay)

    def save():
        extra = dict(ema_regression=averages[0].state_dict(), ema_denoiser=averages[1].state_dict()) if averages else {}
        _save(checkpoint, optimiser=optimiser.state_dict(), elapsed=elapsed + time.monotonic() - started,
              stream_states=dict(streams), torch_rng=torch.get_rng_state(),
              **weights(False), **extra)

    if state is not None and state.get("torch_rng") is not None:
        torch.set_rng_state(state["torch_rng"])    # the noise, timesteps and dropout the run would draw next
    started = last_save = time.monotonic()
    running = None
    regression.train(not diffusion_only)
    denoiser.train()
    budget = minutes * 60
    while step < steps and elapsed + time.monotonic() - started < budget:
        drawn = next(batches)
        features, embedding, emotion, target, gestures, style = drawn.batch
        streams[drawn.process] = drawn.state
        progress = max(step / steps, (elapsed + time.monotonic() - started) / budget)
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, progress, lr)
        if diffusion_only:
            with torch.no_grad():
                audio_hidden = regression.encode(features, embedding)
            loss_regression = torch.zeros(())
        else:
            prediction, logits, audio_hidden = regression.predict(features, emotion, embedding)
            loss_regression = (curve_loss(prediction.transpose(1, 2), target, loss_weights)
                               + GESTURE_WEIGHT * gesture_loss(logits, gestures))
        loss_diffusion = diffusion_loss(denoiser, audio_hidden.transpose(1, 2).detach(), emotion, target, gestures,
                                        style, loss_weights)
        optimiser.zero_grad()
        (loss_regression + loss_diffusion).backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimiser.step()
        if averages:
            if not diffusion_only:
                ema_update(averages[0], regression, step, ema_decay)
            ema_update(averages[1], denoiser, step, ema_decay)
        step += 1
        pair = np.array([loss_regression.item(), loss_diffusion.item()])
        running = pair if running is None else 0.98 * running + 0.02 * pair
        if step % 50 == 0:
            log.info("step %d loss regression %.4f diffusion %.4f (%.1f min)", step, running[0], running[1],
                     (time.monotonic() - started) / 60)
        if snapshot_every and step % snapshot_every == 0:
            _save(snapshot_path(run_dir, step), **weights(True))
        if time.monotonic() - last_save > SAVE_EVERY_S:
            save()
            last_save = time.monotonic()
    save()
    if snapshot_every:
        _save(snapshot_path(run_dir, step), **weights(True))
    log.info("stopped at step %d of %d", step, steps)
    return checkpoint
