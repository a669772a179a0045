"""Alignment with a correct transcript succeeds without a silent fallback (issue 22, class 7): on
espeak-ng speech at 120-200 wpm, whole clips and sentences between pauses; what still fails is
named in the warning, with what was used instead; pocketsphinx prints nothing on the console."""

import shutil
import subprocess

import pytest

from inference import phones
from inference.audio import load_audio
from inference.phonemes import SILENCE

SENTENCES = ["The quick brown fox jumps over the lazy dog.", "Please pass me the butter and the bread.",
             "My mother bought a big map of Bombay.", "We will meet at the pub by the harbour at nine.",
             "Put the blue pen back in the box.", "She sells sea shells by the sea shore."]


def espeak(folder, text, rate, name):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/setup.sh installs it)")
    path = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-s", str(rate), "-g", "40", "-w", str(path), text], check=True,
                   capture_output=True, timeout=60)
    return load_audio(path).samples


@pytest.mark.parametrize("rate", [120, 160, 200])
def test_correct_transcripts_align_at_every_speaking_rate(tmp_path, capfd, rate):
    """Every sentence alone: each was a fallback at 160 or 200 wpm with the default beams only."""
    methods = []
    for index, sentence in enumerate(SENTENCES):
        result = phones.align_phones(espeak(tmp_path, sentence, rate, f"s{index}"), sentence)
        methods.append(result.method)
        assert not result.warnings, result.warnings
    assert methods == ["alignment"] * len(SENTENCES)
    printed = capfd.readouterr()
    assert "ERROR" not in printed.out + printed.err


def test_a_paragraph_aligns_and_a_wrong_sentence_is_named(tmp_path, capfd):
    """Five sentences in one clip with pauses; the transcript's third sentence is another line."""
    heard = " ".join(SENTENCES[:5])
    samples = espeak(tmp_path, heard, 170, "paragraph")
    whole = phones.align_phones(samples, heard)
    assert whole.method == "alignment" and not whole.warnings
    wrong = " ".join(SENTENCES[:2] + ["Nobody here has ever seen a yellow submarine."] + SENTENCES[3:5])
    result = phones.align_phones(samples, wrong)
    assert result.method == "partial alignment" and result.unaligned_sentences == (3,)
    (warning,) = result.warnings
    assert "Sentence 3 of the transcript" in warning and "nobody here has ever seen a ..." in warning
    assert "words were recognised there instead" in warning and "phones were recognised" not in warning
    aligned = {word for word, _, _ in result.words}
    assert {"quick", "butter", "harbour", "blue"} <= aligned and "submarine" not in aligned
    assert result.intervals[0].start == 0.0 and result.intervals[-1].end == pytest.approx(len(samples) / 16000)
    speaking = [item for item in result.intervals if item.phone != SILENCE]
    assert len(speaking) > 60
    printed = capfd.readouterr()
    assert "ERROR" not in printed.out + printed.err


def test_a_transcript_of_another_clip_says_what_failed_and_what_was_used(tmp_path):
    samples = espeak(tmp_path, SENTENCES[0], 160, "fox")
    result = phones.align_phones(samples, "Nobody here has ever seen a yellow submarine.")
    assert result.method == "recognition"
    assert "alignment failed on the whole clip (also with wider beams)" in result.warnings[0]
    assert "words were recognised from the audio instead" in result.warnings[0]


def test_sentences_split_at_their_ends_and_cuts_fall_in_pauses(tmp_path):
    assert phones.split_sentences("Hi there! Take 2. Ok?") == [["hi", "there"], ["take", "two"], ["ok"]]
    samples = espeak(tmp_path, " ".join(SENTENCES[:3]), 160, "three")
    cuts = phones.sentence_cuts(samples, 3)
    assert cuts is not None and len(cuts) == 2
    pauses = [(a, b) for a, b in phones.quiet_stretches(samples)]
    assert all(any(a <= cut / 16000 <= b for a, b in pauses) for cut in cuts)
    assert phones.sentence_cuts(samples, 50) is None
