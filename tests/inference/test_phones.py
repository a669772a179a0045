"""inference.phones / inference.g2p: phones with timings from real (synthesised) speech."""

import shutil
import subprocess
import wave

import numpy as np
import pytest
from speech_synth import SAMPLE_RATE, festival_speech

from inference import phones
from inference.audio import load_audio
from inference.errors import CancelledError
from inference.g2p import letter_to_sound
from inference.phonemes import ARPABET, PHONES, SILENCE, read_timit_phn

BILABIALS = {"p", "b", "m"}
SENTENCE = "Bob will pay my mom for the big map."
EXPECTED_PHONES = {  # CMUdict pronunciations, alternatives allowed where the dictionary has them
    "bob": [["b", "aa", "b"]], "will": [["w", "ih", "l"], ["w", "ah", "l"]], "pay": [["p", "ey"]],
    "my": [["m", "ay"]], "mom": [["m", "aa", "m"]], "for": [["f", "ao", "r"], ["f", "er"], ["f", "r", "er"]],
    "the": [["dh", "ah"], ["dh", "iy"]], "big": [["b", "ih", "g"]], "map": [["m", "ae", "p"]],
}


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """(samples, [(word, start, end)]) for SENTENCE, from festival's HTS voice."""
    return festival_speech(tmp_path_factory.mktemp("phones"), SENTENCE)


@pytest.fixture(scope="module", params=phones.RECOGNITION_MODES)
def recognition_mode(request):
    return request.param


@pytest.fixture(scope="module")
def recognised(speech, recognition_mode):
    return phones.recognize_phones(speech[0], mode=recognition_mode)


@pytest.fixture(scope="module")
def aligned(speech):
    return phones.align_phones(speech[0], SENTENCE)


def assert_tiles(intervals, duration):
    assert intervals[0].start == 0.0
    assert intervals[-1].end == pytest.approx(duration, abs=1e-6)
    for before, after in zip(intervals, intervals[1:]):
        assert before.end == pytest.approx(after.start, abs=1e-9)
    assert all(item.phone in PHONES for item in intervals)


def near(intervals, wanted, start, end, slack=0.06):
    return [p for p in intervals if p.phone in wanted and p.start < end + slack and p.end > start - slack]


def speaking(intervals):
    return [p.phone for p in intervals if p.phone != SILENCE]


def test_recognition_tiles_the_clip(speech, recognised):
    samples, _ = speech
    assert recognised.method == "recognition"
    assert_tiles(recognised.intervals, len(samples) / SAMPLE_RATE)
    assert len(speaking(recognised)) >= 15


def test_recognition_finds_bilabials_in_bilabial_words(speech, recognised):
    _, words = speech
    bilabial_words = [(w, s, e) for w, s, e in words if w in ("bob", "pay", "my", "mom", "big", "map")]
    found = [w for w, s, e in bilabial_words if near(recognised, BILABIALS, s, e)]
    assert len(found) >= len(bilabial_words) - 1, f"bilabials only near {found} of {bilabial_words}"


def test_word_recognition_hears_the_words_and_times_them(speech):
    """"words" mode decodes words before aligning: most of the sentence is heard, at the right time."""
    samples, spoken = speech
    result = phones.recognize_phones(samples, mode="words")
    heard = [w for w, _, _ in result.words]
    assert sum(w in heard for w, _, _ in spoken) >= len(spoken) // 2, heard
    for word, start, end in result.words:
        match = next(((s, e) for w, s, e in spoken if w == word), None)
        if match is not None:
            assert abs(start - match[0]) < 0.25, (word, start, match)


def test_unknown_recognition_mode_is_refused(speech):
    with pytest.raises(ValueError, match="recognition mode"):
        phones.recognize_phones(speech[0], mode="guess")


def test_alignment_gives_dictionary_phones_in_order(speech, aligned):
    samples, _ = speech
    assert aligned.method == "alignment" and aligned.warnings == ()
    assert_tiles(aligned.intervals, len(samples) / SAMPLE_RATE)
    sequence = speaking(aligned)
    position = 0
    for word in phones.normalize_transcript(SENTENCE):
        match = [alt for alt in EXPECTED_PHONES[word] if sequence[position:position + len(alt)] == alt]
        assert match, f"{word!r}: got {sequence[position:position + 4]}"
        position += len(match[0])
    assert position == len(sequence)


def test_alignment_puts_words_where_festival_spoke_them(speech, aligned):
    _, words = speech
    assert [w for w, _, _ in aligned.words] == [w for w, _, _ in words]
    errors = [max(abs(start - ref_start), abs(end - ref_end))
              for (_, start, end), (_, ref_start, ref_end) in zip(aligned.words, words)]
    # A short pause between words can be absorbed by the next phone (festival pauses 100 ms
    # before "for"): allow one such word, but bound it.
    assert sum(error > 0.06 for error in errors) <= 1 and max(errors) < 0.15, errors
    for word, start, end in words:
        if word in ("bob", "pay", "my", "mom", "big", "map"):
            assert near(aligned, BILABIALS, start, end, slack=0.02), word


@pytest.fixture(scope="module")
def resampled_stereo(speech, tmp_path_factory):
    """The same speech as a 44.1 kHz 24-bit stereo WAV and a 12345 Hz mono WAV, converted by sox."""
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed")
    folder = tmp_path_factory.mktemp("rates")
    source = folder / "source.wav"
    with wave.open(str(source), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes(np.round(speech[0] * 32767).astype("<i2").tobytes())
    stereo, odd = folder / "stereo_44k.wav", folder / "odd_12345.wav"
    subprocess.run(["sox", str(source), "-b", "24", "-c", "2", "-r", "44100", str(stereo)], check=True)
    subprocess.run(["sox", str(source), "-r", "12345", str(odd)], check=True)
    return load_audio(stereo), load_audio(odd)


def frame_labels(intervals, duration):
    centres = (np.arange(int(duration * 100)) + 0.5) / 100
    labels = np.empty(len(centres), dtype=object)
    for item in intervals:
        labels[(centres >= item.start) & (centres < item.end)] = item.phone
    return labels


def test_other_rates_and_stereo_give_the_same_phones(speech, recognised, recognition_mode, aligned,
                                                    resampled_stereo):
    stereo, odd = resampled_stereo
    duration = len(speech[0]) / SAMPLE_RATE
    assert stereo.duration == pytest.approx(duration, abs=0.01)
    reference = frame_labels(recognised, duration)
    again = frame_labels(phones.recognize_phones(stereo.samples, mode=recognition_mode), duration)
    assert np.mean(reference == again) > 0.8
    # 12345 Hz keeps only 6 kHz of bandwidth: alignment (not free recognition) must still agree.
    odd_aligned = phones.align_phones(odd.samples, SENTENCE)
    assert speaking(odd_aligned) == speaking(aligned)
    assert np.mean(frame_labels(odd_aligned, duration) == frame_labels(aligned, duration)) > 0.8


def test_silence_gives_only_silence_and_a_warning():
    quiet = np.zeros(2 * SAMPLE_RATE, np.float32)
    for result in (phones.recognize_phones(quiet), phones.recognize_phones(quiet, mode="phones"),
                   phones.align_phones(quiet, "hello there")):
        assert [p.phone for p in result] == [SILENCE]
        assert result[0].end == pytest.approx(2.0)
        assert result.warnings and "No speech" in result.warnings[0]


def test_out_of_dictionary_word_aligns(tmp_path):
    samples, words = festival_speech(tmp_path, "Zorblax attacks the moon.", name="oov")
    result = phones.align_phones(samples, "Zorblax attacks the moon!")
    assert result.method == "alignment"
    assert any("zorblax" in w for w in result.warnings)
    zorblax = next((s, e) for w, s, e in result.words if w == "zorblax")
    festival_start, festival_end = words[0][1], words[0][2]
    assert abs(zorblax[0] - festival_start) < 0.1 and abs(zorblax[1] - festival_end) < 0.1
    assert near(result, {"b"}, festival_start, festival_end)
    moon = words[-1]
    assert near(result, {"m"}, moon[1], moon[1] + 0.1, slack=0.03)


def test_wrong_transcript_falls_back_to_recognition_with_warning(speech):
    result = phones.align_phones(speech[0], "Seventeen elephants quietly juggled sixty oranges yesterday afternoon.")
    assert result.method == "recognition"
    assert any("does not match" in w for w in result.warnings)
    assert_tiles(result.intervals, len(speech[0]) / SAMPLE_RATE)


def test_empty_transcript_falls_back(speech):
    result = phones.align_phones(speech[0], " ?! ")
    assert result.method == "recognition" and result.warnings


def test_long_audio_is_chunked_with_progress_and_cancel(speech):
    samples, _ = speech
    gap = np.zeros(SAMPLE_RATE // 2, np.float32)
    long = np.concatenate([np.concatenate([samples, gap])] * int(np.ceil(65 * SAMPLE_RATE / (len(samples) + len(gap)))))
    calls = []
    result = phones.recognize_phones(long, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1][0] == calls[-1][1] >= 3
    assert_tiles(result.intervals, len(long) / SAMPLE_RATE)
    assert len(near(result, BILABIALS, 55.0, 65.0, slack=0.0)) >= 3
    with pytest.raises(CancelledError):
        phones.recognize_phones(long, should_cancel=lambda: True)


def test_transcript_normalisation():
    assert phones.normalize_transcript("Take 2! It's 1,250 — \u201cOK\u201d? Agent 007") == [
        "take", "two", "it's", "one", "thousand", "two", "hundred", "fifty", "ok", "agent", "zero", "zero", "seven"]


@pytest.mark.parametrize("word", ["Zorblax", "Kenobi", "xyzzy", "", "1234", "ñandú", "schmidt", "q"])
def test_letter_to_sound_never_fails(word):
    result = letter_to_sound(word)
    assert all(p in ARPABET for p in result)
    if word == "Zorblax":
        assert result[0] == "z" and "b" in result and result[-2:] == ["k", "s"]


def test_timit_alignment_boundaries(shared_data):
    """On one hand-labelled TIMIT sentence most aligned phone starts are within 30 ms of the labels."""
    folder = shared_data / "speech" / "timit_dev" / "dr1-fvmh0"
    if not (folder / "sa1.phn").exists():
        pytest.skip("TIMIT sample sa1 not present")
    audio = load_audio(folder / "sa1.wav")
    text = " ".join((folder / "sa1.txt").read_text().split()[2:])
    result = phones.align_phones(audio.samples, text)
    reference = [p for p in read_timit_phn(folder / "sa1.phn")]
    bilabial_refs = [p for p in reference if p.phone in BILABIALS]
    assert result.method == "alignment"
    assert all(near(result, BILABIALS, p.start, p.end, slack=0.04) for p in bilabial_refs)


@pytest.mark.parametrize("with_transcript", [True, False])
def test_pauses_and_edges_stay_silent(tmp_path, with_transcript):
    """Both with a transcript and with (default, word) recognition."""
    first, _ = festival_speech(tmp_path, "Maybe we should go home.", name="a")
    second, _ = festival_speech(tmp_path, "Nobody will mind.", name="b")
    pause = np.zeros(SAMPLE_RATE, np.float32)
    padded = np.concatenate([pause, first, pause, second, pause])
    if with_transcript:
        result = phones.align_phones(padded, "Maybe we should go home. Nobody will mind.")
    else:
        result = phones.recognize_phones(padded)
    quiet = phones.quiet_stretches(padded)
    assert len(quiet) == 3, quiet  # before, between and after the two sentences
    margin = phones.SPEECH_MARGIN_S + 1e-9
    for start, end in quiet:
        inside = [p for p in result.intervals if p.phone != SILENCE
                  and p.end > max(start + margin, 0) and p.start < end - margin]
        assert not inside, (start, end, inside)
