"""benchmarks/review.py's machinery on TIMIT utterances: defects planted where the hand-labelled
take was right become truth the review finds (with the hand labels as its phones), matching
counts precision and recall as the issue defines them, and a recogniser (real pocketsphinx) is
measured with the reason for each bilabial it missed."""

import numpy as np

from benchmarks import lipmetrics, quality
from benchmarks import phones as phones_bench
from benchmarks import review as bench
from inference import arkit, review
from inference.articulation import articulate
from inference.phonemes import SILENCE, PhoneInterval, read_timit_phn


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


def test_missed_bilabials_say_whether_mistimed_or_what_was_heard():
    reference = [PhoneInterval(SILENCE, 0.0, 0.1), PhoneInterval("b", 0.1, 0.16), PhoneInterval("aa", 0.16, 0.5),
                 PhoneInterval("m", 0.5, 0.58), PhoneInterval("iy", 0.58, 1.0), PhoneInterval("p", 1.0, 1.04),
                 PhoneInterval("p", 1.04, 1.08), PhoneInterval(SILENCE, 1.08, 1.3)]
    predicted = [PhoneInterval(SILENCE, 0.0, 0.12), PhoneInterval("b", 0.12, 0.18), PhoneInterval("aa", 0.18, 0.7),
                 PhoneInterval("m", 0.7, 0.75), PhoneInterval("iy", 0.75, 1.0), PhoneInterval("t", 1.0, 1.08),
                 PhoneInterval(SILENCE, 1.08, 1.3)]
    assert phones_bench.bilabial_hits(predicted, reference) == (1, 3)      # the closure and release of p are one
    assert phones_bench.missed_bilabials(predicted, reference) == [(0.5, 0.58, phones_bench.MISTIMED), (1.0, 1.08, "t")]
    assert phones_bench.unlabelled_bilabials(predicted, reference) == 1     # the m at 0.7, 120 ms after the said one


def test_bilabials_too_short_for_the_truth_count_as_labelled():
    labels = [lipmetrics.Label("h#", 0.0, 0.1), lipmetrics.Label("bcl", 0.1, 0.11), lipmetrics.Label("b", 0.11, 0.12),
              lipmetrics.Label("aa", 0.12, 0.4), lipmetrics.Label("m", 0.4, 0.46), lipmetrics.Label("h#", 0.46, 0.8)]
    assert lipmetrics.bilabial_events(labels) == [(0.4, 0.46)]
    assert bench.short_bilabials(labels) == [(0.1, 0.12)]
    counts = bench.match([(0.1, 0.12), (0.6, 0.7)], true=[], other=bench.short_bilabials(labels), tolerance=0.04)
    assert (counts.found, counts.found_true, counts.nowhere) == (2, 0, 1)


def test_a_recogniser_is_measured_on_timit_with_its_misses_explained(shared_data, tmp_path):
    wavs = quality.list_utterances(shared_data / quality.TIMIT_SUBDIR)[:6]
    figures = bench.measure_recogniser(wavs, "phones", tmp_path)
    assert (tmp_path / "phones_phones.json").exists() and len(figures.found) == len(wavs)
    assert 0 < figures.hits < figures.total and figures.per_minute > 0
    assert figures.hits + sum(figures.misses.values()) == figures.total
    assert sum(h.total for h in figures.speakers.values()) == figures.total
    assert sum(h.unlabelled for h in figures.speakers.values()) == figures.heard.unlabelled
    assert figures.misses_text().startswith(f"missed {figures.total - figures.hits}: ")
    assert bench.choose_recogniser({"phones": figures}) == "phones"
