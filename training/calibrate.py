"""Choosing the exported models' seal decision on speech the models never trained on.

The models' seal head gives, per frame, the probability that the lips are sealed for a bilabial;
`models.seal_decode` closes the lips as it rises through a decision (low, high): fully closed
from `high` on. How high the probabilities rise depends on how close the speech is to what the
head learnt from, so where to put the decision is a calibration, and it must be made on data
that is neither trained on nor the evaluation set (TIMIT).

`calibrate` runs a regression model over the held-out utterances (LibriSpeech test-other, whose
phones are recognised the same way as the training LibriSpeech's) and scores each candidate of
`DECISIONS` by Youden's index over phone events: the share of bilabials (`p b m`) in which the
lips close, minus the share of open vowels (`OPEN_VOWELS`, at least `MIN_VOWEL_S` long) whose
middle half they close in. An event closes where its peak probability reaches the decision's
high. The best index wins; a tie goes to the higher, more cautious decision. The diffusion
model shares the regression model's encoder and is given the same decision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from inference.articulation import BILABIALS
from inference.features import MODEL_FPS, log_mel
from inference.phonemes import PhoneInterval

from . import models
from .corpus import Utterance

# The candidates: low = 0.25 / sqrt(2)^k, high = 3 low (the default decision is the first).
DECISIONS = tuple((round(0.25 / 2 ** (k / 2), 4), round(0.75 / 2 ** (k / 2), 4)) for k in range(12))
OPEN_VOWELS = frozenset({"aa", "ae", "ah", "ao", "aw", "ay", "eh"})
MIN_VOWEL_S = 0.06
FILE_NAME = "seal_decision.json"


@dataclass(frozen=True)
class Score:
    decision: tuple[float, float]
    sealed_bilabials: float     # share of bilabials whose lips close
    sealed_vowels: float        # share of open vowels whose lips close in their middle half

    @property
    def youden(self) -> float:
        return self.sealed_bilabials - self.sealed_vowels


def _frames(start: float, end: float, num_frames: int) -> slice:
    first = min(int(np.floor(start * MODEL_FPS)), num_frames - 1)
    return slice(max(first, 0), max(min(int(np.ceil(end * MODEL_FPS)), num_frames), first + 1))


def event_peaks(probability: np.ndarray, phones: list[PhoneInterval]) -> tuple[np.ndarray, np.ndarray]:
    """(the largest seal probability in each bilabial, the largest in the middle half of each open
    vowel) of one utterance, from its per-frame probability at `MODEL_FPS`."""
    bilabials, vowels = [], []
    for phone in phones:
        if phone.phone in BILABIALS:
            bilabials.append(probability[_frames(phone.start, phone.end, probability.size)].max())
        elif phone.phone in OPEN_VOWELS and phone.end - phone.start >= MIN_VOWEL_S:
            quarter = (phone.end - phone.start) / 4
            vowels.append(probability[_frames(phone.start + quarter, phone.end - quarter, probability.size)].max())
    return np.asarray(bilabials, np.float32), np.asarray(vowels, np.float32)


def score_decisions(bilabial_peaks: np.ndarray, vowel_peaks: np.ndarray, decisions=DECISIONS) -> list[Score]:
    """Each decision's score: an event's lips close where its peak probability reaches the decision's high."""
    if bilabial_peaks.size == 0 or vowel_peaks.size == 0:
        raise ValueError("calibration needs both bilabials and open vowels in the held-out speech")
    return [Score(decision, float(np.mean(bilabial_peaks >= decision[1])), float(np.mean(vowel_peaks >= decision[1])))
            for decision in decisions]


def best(scores: list[Score]) -> Score:
    """The highest Youden index; among equals, the highest decision."""
    return max(scores, key=lambda score: (round(score.youden, 9), score.decision[0]))


def seal_probability(regression: models.RegressionModel, utterance: Utterance) -> np.ndarray:
    """The regression model's seal probability [T] at `MODEL_FPS` for one utterance, no emotion."""
    features = torch.from_numpy(log_mel(utterance.samples.astype(np.float32) / 32768.0))[None]
    frames = features.shape[1] // 2 + 1
    with torch.no_grad():
        _, seal_logit, _ = regression.eval().predict(features, torch.zeros(1, frames, models.NUM_EMOTIONS))
    return torch.sigmoid(seal_logit[0]).numpy()


def calibrate(regression: models.RegressionModel, held_out: list[Utterance]) -> tuple[Score, list[Score]]:
    """(the chosen decision's score, every candidate's score) on the held-out utterances."""
    peaks = [event_peaks(seal_probability(regression, utt), list(utt.phones)) for utt in held_out]
    scores = score_decisions(np.concatenate([p[0] for p in peaks]), np.concatenate([p[1] for p in peaks]))
    return best(scores), scores


def save(run_dir: Path, chosen: Score, scores: list[Score], held_out: list[Utterance]) -> Path:
    path = run_dir / FILE_NAME
    speakers = sorted({utt.voice for utt in held_out})
    path.write_text(json.dumps({
        "decision": list(chosen.decision),
        "how": (f"calibrated on {len(held_out)} held-out LibriSpeech test-other utterances "
                f"({sum(u.duration for u in held_out) / 60:.1f} min, speakers {' '.join(speakers)}; phones recognised): "
                "the best Youden index, closed bilabials minus closed open-vowel middles (python -m training calibrate)"),
        "scores": [{"decision": list(s.decision), "sealed_bilabials": round(s.sealed_bilabials, 4),
                    "sealed_vowels": round(s.sealed_vowels, 4), "youden": round(s.youden, 4)} for s in scores],
    }, indent=1) + "\n")
    return path


def load(run_dir: Path) -> dict | None:
    """The run's calibration record, or None when it has none."""
    path = run_dir / FILE_NAME
    return json.loads(path.read_text()) if path.exists() else None

