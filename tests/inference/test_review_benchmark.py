"""benchmarks/review.py's machinery on TIMIT utterances: defects planted where the hand-labelled
take was right become truth the review finds (with the hand labels as its phones), and matching
counts precision and recall as the issue defines them."""

import numpy as np

from benchmarks import lipmetrics, quality
from benchmarks import review as bench
from inference import arkit, review
from inference.articulation import articulate
from inference.phonemes import read_timit_phn


def test_matching_counts_true_false_and_unlabelled_findings():
    counts = bench.match([(1.0, 1.1), (2.0, 2.1), (5.0, 5.1)], true=[(1.05, 1.2), (3.0, 3.1)],
                         other=[(2.05, 2.2)], tolerance=0.04)
    assert (counts.found_true, counts.found, counts.recalled, counts.events, counts.nowhere) == (1, 3, 1, 2, 1)


def test_planted_defects_become_truth_and_are_found(shared_data):
    face = lipmetrics.load_reference_face(shared_data / quality.FACE_SUBDIR, arkit.NAMES)
    wavs = quality.list_utterances(shared_data / quality.TIMIT_SUBDIR)[:12]
    rng = np.random.default_rng(0)
    planted_total = found_total = 0
    for wav in wavs:
        phones = read_timit_phn(wav.with_suffix(".phn"))
        labels = lipmetrics.read_phn_labels(wav.with_suffix(".phn"))
        take = articulate(phones, 30.0, quality.audio_duration(wav))
        missed, closed, open_, _ = bench.truth(face, take, labels)
        assert missed == [] and open_ == []                # the hand-labelled take closes and rests
        planted, count, jumps = bench.plant(face, take, labels, rng)
        missed, _, open_, _ = bench.truth(face, planted, labels)
        assert len(missed) + len(open_) == count and len(jumps) == 1
        score, result = bench.score(face, planted, labels, phones, ())
        planted_total += count
        found_total += score.closures.recalled + score.silences.recalled
        assert any(f.kind == review.JUMP and f.start <= jumps[0] <= f.end + 1e-6 for f in result.findings)
    assert planted_total >= 6 and found_total == planted_total
