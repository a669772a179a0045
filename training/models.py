"""The two networks (torch): a regression model and a diffusion denoiser, both 1-D convolutional.

RegressionModel: log-mel [B, F, 64] at 100 fps -> a stride-2 stem, plus the speech embedding
[B, T, 96] at 50 fps (`inference.embedding`, normalised, through a 1x1 convolution) ->
dilated residual blocks -> `audio_hidden` [B, T, H] at 50 fps (emotion-free) -> a head that also
sees the emotion weights [B, T, 8] -> `curves` [B, T, 52], clamped to 0..1 in eval mode. The
log-mel keeps frame-exact timing; the embedding, from a network trained on large amounts of real
speech, tells the blocks what is being said in voices the synthetic corpus never had.

Denoiser: predicts the clean curves x0 (data space 2c - 1) from noisy curves, the diffusion
timestep, the regression model's `audio_hidden`, the emotion weights (all -1 = no emotion
given, for classifier-free guidance) and the take's style [B, NUM_STYLE] (`training.targets`:
gains, lopsidedness, side, each scaled to -1..1; 0 is the average take). A style that is not
audible cannot be told from the audio, and a denoiser asked to find it in the noise settles on
the median take whatever the seed; given as an input, it is what the seed chooses.

Both heads predict two more values per frame than they output, the logits of two lip gestures
(`GESTURES`): the bilabial seal and rounding. `gesture_decode` imposes them: rounding brings the
pucker and funnel up to at least `ROUNDED_POSE`, and the seal closes the lips the way the
articulation rules do (mouthClose cancels jawOpen plus a margin, the press rises, the lip-parting
shapes fade). A gesture the network is sure of is drawn whole, not as an average of two mouths:
a regression to the mean draws an "oo" it is unsure of as barely rounded, and a closure as half open.
The regression model also outputs the gestures it drew (`decide_gestures`), and a denoiser
exported to read them (`export.export_diffusion(gestures_from=...)`) imposes those in place of its
own: the diffusion engine then closes and rounds the lips where the regression engine does.
A bilabial is an event, not a state: on a voice it never heard, a network is often unsure of a
closure it does hear, and its seal probability then rises to a peak that stays low. The exported
models therefore also close the lips briefly at every local peak of the seal probability above a
low floor (`SEAL_PEAK`), and draw a longer closure only where they are sure (`SEAL_DECISION`).
Rounding is drawn the same way: a network unsure of an "oo" or the end of an "oh" in a voice it
never heard raises its rounding probability to a low peak there, so the lips also round briefly at
every local peak of it above `ROUND_PEAK`, and hold the rounding where it is sure (`ROUND_DECISION`).

Both are fully convolutional with zero padding, so they run on any length and a window that keeps
only frames further than `receptive_field` from its edges reproduces the one-pass result exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from inference import arkit, embedding, voice
from inference.articulation import CONTROL_CHANNELS, PARTING_CONTROLS, SEAL_MARGIN, SEAL_PRESS

NUM_MELS = 64
EMBEDDING_DIM = embedding.DIM
NUM_CHANNELS = 52
NUM_EMOTIONS = 8
NUM_STYLE = 8                     # len(targets.STYLE_NAMES)
TRAIN_STEPS = 1000
COSINE_OFFSET = 0.008
UNCONDITIONAL_EMOTION = -1.0

GESTURES = ("seal", "round")      # the gesture logits both heads predict after the 52 curves, in this order
SEAL_DECISION = (0.5, 0.8)        # the exported models' default; `python -m training export --seal-decision`
SEAL_PEAK = 0.12                  # likewise for the seal's peak floor (None: off); `--seal-peak`
ROUND_DECISION = (0.25, 0.75)     # likewise for rounding; `--round-decision`
ROUND_PEAK = 0.15                 # likewise for rounding's peak floor (None: off); `--round-peak`
VOICE_REFERENCE = 150.0           # likewise for the pitch (Hz) above which a voice is lowered (`inference.voice`); `--voice`
# A peak is a frame whose probability is the highest within PEAK_RADIUS model frames (20 ms
# each) either side; the lips close (or round) for PEAK_HOLD frames either side of every peak at
# or above the floor (60 ms in all, about a real closure's shortest).
PEAK_RADIUS = 3
PEAK_HOLD = 1
# Where the lips round, pucker and funnel are at least this: a clearly rounded mouth, below the
# articulation rules' rounded vowels at their peak ("uw" 0.7 / 0.25, the end of "ow" 0.6 / 0.25).
ROUNDED_POSE = {"mouthPucker": 0.4, "mouthFunnel": 0.15}
# A model trained before the rounding gesture grows its logit's output row with this bias (and
# zero weights): rounding stays off until it is trained.
NEW_GESTURE_LOGIT = -4.0
# Frames either side the gestures' peaks look at, on top of a network's own receptive field.
DECODE_REACH = PEAK_RADIUS + PEAK_HOLD
PARTING_CHANNELS = tuple(name for control in PARTING_CONTROLS for name in CONTROL_CHANNELS[control])


@dataclass(frozen=True)
class Decisions:
    """How an exported model draws its gestures (`gesture_decode`): the seal probabilities between
    which the lips go from open to closed, the floor from which a peak of the seal's probability
    closes them briefly (None: peaks close nothing), the rounding probabilities between which
    they go from their own shape to rounded, and the floor from which a peak of the rounding's
    probability rounds them briefly (None: off); and how the runtime lets it hear a voice: the
    pitch above which a voice is played lower first (`inference.voice`; None: as it is). The
    sidecars record them (`sidecar`)."""
    seal: tuple[float, float] = SEAL_DECISION
    seal_peak: float | None = SEAL_PEAK
    rounding: tuple[float, float] = ROUND_DECISION
    voice: float | None = VOICE_REFERENCE
    round_peak: float | None = ROUND_PEAK

    def sidecar(self) -> dict:
        return {"seal_decision": list(self.seal), "seal_peak": self.seal_peak, "round_decision": list(self.rounding),
                "round_peak": self.round_peak, voice.SIDECAR_KEY: self.voice}

    @classmethod
    def from_sidecar(cls, record: dict) -> "Decisions":
        """The decisions of a `sidecar` record. A seal or rounding decision it lacks takes the
        default; a record from before the seal's (or the rounding's) peaks has no floor, and draws
        none; one from before the voice's reference pitch hears every voice as it is."""
        return cls(seal=tuple(record.get("seal_decision", SEAL_DECISION)), seal_peak=record.get("seal_peak"),
                   rounding=tuple(record.get("round_decision", ROUND_DECISION)), voice=record.get(voice.SIDECAR_KEY),
                   round_peak=record.get("round_peak"))


def _one_hot(names) -> torch.Tensor:
    """[52, 1]: 1 on the named channels."""
    column = torch.zeros(NUM_CHANNELS, 1)
    column[[arkit.INDEX[name] for name in names]] = 1.0
    return column


def _decided(probability, decision: tuple[float, float]):
    """[B, 1, T]: a gesture's decision (low, high) on its probability [B, 1, T], with a soft edge:
    0 below `low` and 1 above `high`."""
    low, high = decision
    return ((probability - low) / (high - low)).clamp(0.0, 1.0)


def _peaks(probability, floor: float):
    """[B, 1, T]: 1 within `PEAK_HOLD` frames of each local maximum of `probability` (the highest
    within `PEAK_RADIUS` frames either side, and above the lowest there: a flat stretch has no
    peak) that is at least `floor`, else 0."""
    def pooled(value):
        return nn.functional.max_pool1d(value, 2 * PEAK_RADIUS + 1, stride=1, padding=PEAK_RADIUS)
    peak = (probability >= pooled(probability)) & (probability > -pooled(-probability)) & (probability >= floor)
    return nn.functional.max_pool1d(peak.float(), 2 * PEAK_HOLD + 1, stride=1, padding=PEAK_HOLD)


def decide_gestures(logits, decisions: Decisions | None = None):
    """[B, 2, T] in `GESTURES` order, 0..1: how much of each gesture is drawn, from its logits
    [B, 2, T]. Without `decisions` (training) its probability; the exported models decide
    (`_decided`, with their `Decisions`), so a gesture the network finds likely is drawn whole, and
    with a peak floor they also seal (or round) around every peak of the gesture's probability at
    or above it (`_peaks`)."""
    probability = torch.sigmoid(logits)
    if decisions is None:
        return probability
    drawn = {"seal": (decisions.seal, decisions.seal_peak), "round": (decisions.rounding, decisions.round_peak)}
    rows = []
    for index, name in enumerate(GESTURES):
        value = probability[:, index:index + 1]
        decision, peak = drawn[name]
        decided = _decided(value, decision)
        rows.append(decided if peak is None else torch.maximum(decided, _peaks(value, peak)))
    return torch.cat(rows, dim=1)


def impose_gestures(curves, gestures):
    """Curves [B, 52, T] (0..1 scale) with the gestures drawn ([B, 2, T], `decide_gestures`)
    imposed on the lips: rounding raises pucker and funnel to at least `ROUNDED_POSE`; then the
    seal fades the lip-parting shapes out and blends mouthClose and the press into their sealed
    values."""
    rounding, seal = (gestures[:, GESTURES.index(name)].unsqueeze(1) for name in ("round", "seal"))   # [B, 1, T]
    pose = sum(value * _one_hot((name,)) for name, value in ROUNDED_POSE.items())
    curves = curves + rounding * torch.relu(pose - curves)
    jaw = curves[:, arkit.INDEX["jawOpen"]].unsqueeze(1)
    faded = _one_hot(("mouthClose", "mouthPressLeft", "mouthPressRight") + PARTING_CHANNELS)
    sealed = (_one_hot(("mouthClose",)) * (jaw + SEAL_MARGIN)
              + _one_hot(("mouthPressLeft", "mouthPressRight")) * SEAL_PRESS)
    return curves * (1.0 - faded * seal) + sealed * seal


def gesture_decode(curves, logits, decisions: Decisions | None = None):
    """Curves [B, 52, T] (0..1 scale) with the gestures of `logits` [B, 2, T] imposed
    (`impose_gestures` of `decide_gestures`)."""
    return impose_gestures(curves, decide_gestures(logits, decisions))


def grown_outputs(model: nn.Module, state: dict) -> dict:
    """`state` fitted to `model` where it comes from before the rounding gesture: each output
    layer (`model.GESTURE_LAYERS`) short of the new logit's row gets it, zero weights and a
    `NEW_GESTURE_LOGIT` bias (0 for a layer that adds to another's output)."""
    grown = dict(state)
    own = model.state_dict()
    for layer, bias in model.GESTURE_LAYERS.items():
        for part in ("weight", "bias"):
            name = f"{layer}.{part}"
            value, wanted = state.get(name), own[name]
            if value is None or value.shape[0] + 1 != wanted.shape[0] or value.shape[1:] != wanted.shape[1:]:
                continue
            row = torch.full((1, *value.shape[1:]), bias if part == "bias" else 0.0, dtype=value.dtype)
            grown[name] = torch.cat([value, row])
    return grown


def grown_style(model: nn.Module, state: dict) -> dict:
    """`state` fitted to a `Denoiser` where it comes from before the last style entries: the style
    layers' input columns for the entries it lacks (the last ones, `targets.STYLE_NAMES`) are
    zero, so it draws every take as before until they are trained (`train.style_columns`)."""
    grown = dict(state)
    weight = state.get("style.weight")
    if not isinstance(model, Denoiser) or weight is None or weight.shape[1] >= NUM_STYLE:
        return grown
    known = weight.shape[1]
    grown["style.weight"] = torch.cat([weight, weight.new_zeros(weight.shape[0], NUM_STYLE - known)], dim=1)
    direct = state["style_out.weight"]                       # [out, 2 * known]: the positive parts, then the negative
    gap = direct.new_zeros(direct.shape[0], NUM_STYLE - known)
    grown["style_out.weight"] = torch.cat([direct[:, :known], gap, direct[:, known:], gap], dim=1)
    return grown


def fitted_state(model: nn.Module, state: dict) -> dict:
    """`state` of a model saved before the rounding gesture or the last style entries, fitted to
    `model` (`grown_outputs`, then `grown_style`); a current state as it is."""
    return grown_style(model, grown_outputs(model, state))


class ChannelNorm(nn.Module):
    """LayerNorm over the channel axis of [B, C, T]."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, dilation: int, conditioned: bool = False):
        super().__init__()
        self.norm = ChannelNorm(channels)
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)
        self.film = nn.Linear(channels, 2 * channels) if conditioned else None
        self.act = nn.GELU()

    def forward(self, x, condition=None):
        h = self.norm(x)
        if self.film is not None:
            scale, shift = self.film(condition).unsqueeze(-1).chunk(2, dim=1)
            h = h * (1 + scale) + shift
        return x + self.mix(self.act(self.conv(self.act(h))))


def receptive_field(dilations) -> int:
    """Model frames each side that one output frame depends on, for blocks with these dilations."""
    return sum(dilations)


class RegressionModel(nn.Module):
    DILATIONS = (1, 2, 4, 8, 1, 2, 4, 8)
    GESTURE_LAYERS = {"head.4": NEW_GESTURE_LOGIT}

    def __init__(self, hidden: int = 192, feature_mean=None, feature_std=None, embedding_mean=None,
                 embedding_std=None):
        super().__init__()
        self.hidden = hidden
        self.gesture_decisions = Decisions()

        def statistic(value, size, default):
            return torch.full((size,), default) if value is None else torch.as_tensor(value, dtype=torch.float32)

        self.register_buffer("feature_mean", statistic(feature_mean, NUM_MELS, 0.0))
        self.register_buffer("feature_std", statistic(feature_std, NUM_MELS, 1.0))
        self.register_buffer("embedding_mean", statistic(embedding_mean, EMBEDDING_DIM, 0.0))
        self.register_buffer("embedding_std", statistic(embedding_std, EMBEDDING_DIM, 1.0))
        self.stem = nn.Sequential(nn.Conv1d(NUM_MELS, hidden, 5, padding=2), nn.GELU(),
                                  nn.Conv1d(hidden, hidden, 3, stride=2, padding=1))
        self.embedding_in = nn.Sequential(nn.Conv1d(EMBEDDING_DIM, hidden, 1), nn.GELU(), nn.Conv1d(hidden, hidden, 1))
        self.blocks = nn.ModuleList(ResidualBlock(hidden, d) for d in self.DILATIONS)
        self.out_norm = ChannelNorm(hidden)
        self.head = nn.Sequential(nn.Conv1d(hidden + NUM_EMOTIONS, hidden, 3, padding=1), nn.GELU(),
                                  nn.Conv1d(hidden, hidden, 1), nn.GELU(),
                                  nn.Conv1d(hidden, NUM_CHANNELS + len(GESTURES), 1))

    @property
    def receptive_field(self) -> int:
        # stem: 2 feature frames of the k=5 conv + 1 model frame of the stride-2 conv; head: 1;
        # then the gestures' peaks
        return receptive_field(self.DILATIONS) + 2 + 1 + DECODE_REACH

    def encode(self, features, embedding):
        x = ((features - self.feature_mean) / self.feature_std).transpose(1, 2)
        x = self.stem(x)
        speech = ((embedding - self.embedding_mean) / self.embedding_std).transpose(1, 2)
        x = x + self.embedding_in(speech[:, :, : x.shape[2]])
        for block in self.blocks:
            x = block(x)
        return self.out_norm(x)                                   # [B, H, T]

    def decisions(self) -> Decisions | None:
        """`gesture_decode`'s decisions: none while training (blend by probability)."""
        return None if self.training else self.gesture_decisions

    def predict(self, features, emotion, embedding):
        """(curves [B, 52, T] before the clamp, gesture logits [B, 2, T], audio_hidden [B, H, T])."""
        hidden = self.encode(features, embedding)
        emotion = emotion.transpose(1, 2)[:, :, : hidden.shape[2]]
        raw = self.head(torch.cat([hidden, emotion], dim=1))
        logits = raw[:, NUM_CHANNELS:]
        return gesture_decode(raw[:, :NUM_CHANNELS], logits, self.decisions()), logits, hidden

    def forward(self, features, emotion, embedding):
        """(curves [B, T, 52], audio_hidden [B, T, H], the gestures drawn [B, T, 2]: what a
        denoiser that takes its gestures from this model imposes, `Denoiser.forward`)."""
        curves, logits, hidden = self.predict(features, emotion, embedding)
        if not self.training:
            # Linear while training: a sigmoid saturates on channels that are mostly 0 (the lip seal)
            # and stops learning them; the clamp to 0..1 is part of the exported graph.
            curves = curves.clamp(0.0, 1.0)
        gestures = decide_gestures(logits, self.decisions())
        return curves.transpose(1, 2), hidden.transpose(1, 2), gestures.transpose(1, 2)


def timestep_embedding(timestep, dim: int):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = timestep.float().reshape(-1, 1) * freqs.reshape(1, -1)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class Denoiser(nn.Module):
    DILATIONS = (1, 2, 4, 8, 1, 2, 4, 8)
    GESTURE_LAYERS = {"out": NEW_GESTURE_LOGIT, "style_out": 0.0}
    decisions = RegressionModel.decisions

    def __init__(self, audio_hidden: int = 192, channels: int = 128):
        super().__init__()
        self.channels = channels
        self.gesture_decisions = Decisions()
        self.curves_in = nn.Conv1d(NUM_CHANNELS + NUM_EMOTIONS, channels, 1)
        self.audio_in = nn.Conv1d(audio_hidden, channels, 1)
        self.time = nn.Sequential(nn.Linear(channels, channels), nn.GELU(), nn.Linear(channels, channels))
        # The style conditions every block and also reaches the output directly: a shape the take
        # adds (talking out of one side) belongs to channels an unstyled denoiser never moved, whose
        # output weights are near zero, and through the blocks alone it would be learnt very slowly.
        # The direct path sees each entry's positive and negative parts apart, so it can add a shape
        # on one side of 0 only (mouthLeft for side > 0, nothing for side = 0).
        self.style = nn.Linear(NUM_STYLE, channels)
        self.style_out = nn.Linear(2 * NUM_STYLE, NUM_CHANNELS + len(GESTURES))
        for layer in (self.style, self.style_out):   # a denoiser trained without style starts out unchanged
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.blocks = nn.ModuleList(ResidualBlock(channels, d, conditioned=True) for d in self.DILATIONS)
        self.out_norm = ChannelNorm(channels)
        self.out = nn.Conv1d(channels, NUM_CHANNELS + len(GESTURES), 1)

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.DILATIONS) + DECODE_REACH

    def predict(self, noisy, timestep, audio_hidden, emotion, style=None, gestures=None):
        """(x0 [B, T, 52] in data space, gesture logits [B, 2, T]); no `style`: the average take.
        `gestures` [B, T, 2] (0..1, `GESTURES` order): the gestures to draw, another model's
        (`RegressionModel.forward`), in place of the denoiser's own decisions."""
        x = self.curves_in(torch.cat([noisy, emotion], dim=2).transpose(1, 2))
        x = x + self.audio_in(audio_hidden.transpose(1, 2))
        if style is None:
            style = torch.zeros(x.shape[0], NUM_STYLE)
        condition = self.time(timestep_embedding(timestep, self.channels)).expand(x.shape[0], -1) + self.style(style)
        for block in self.blocks:
            x = block(x, condition)
        parts = torch.cat([torch.relu(style), torch.relu(-style)], dim=1)
        raw = self.out(self.out_norm(x)) + self.style_out(parts).unsqueeze(-1)
        logits = raw[:, NUM_CHANNELS:]
        drawn = decide_gestures(logits, self.decisions()) if gestures is None else gestures.transpose(1, 2)
        curves = impose_gestures((raw[:, :NUM_CHANNELS] + 1.0) / 2.0, drawn)
        return (curves * 2.0 - 1.0).transpose(1, 2), logits

    def forward(self, noisy, timestep, audio_hidden, emotion, style=None, gestures=None):
        return self.predict(noisy, timestep, audio_hidden, emotion, style, gestures)[0]


def alpha_bar(timestep):
    """Cosine schedule (Nichol & Dhariwal 2021) at integer or float steps in [0, TRAIN_STEPS]."""
    def f(t):
        return torch.cos((t / TRAIN_STEPS + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2

    t = torch.as_tensor(timestep, dtype=torch.float64)
    return (f(t) / f(torch.zeros(()))).clamp(1e-5, 1.0).float()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
