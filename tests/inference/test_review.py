"""The review of a take: empty for a good take, and each planted defect found where it was planted,
with its phone and word; the default lips are the demo head's; the headless
command, `--review` and the batch report. Real audio (the sample line), real pocketsphinx."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from inference import arkit, batch, generation, lips, mapping, review
from inference.audio import load_audio
from inference.constraints import constraint_grid, enforce, Constraint
from inference.curves import Curves
from inference.errors import GeometryError
from inference.lips import DEFAULT_LIPS
from inference.phonemes import SILENCE, PhoneInterval

REPO_ROOT = Path(__file__).resolve().parents[2]
LINE = REPO_ROOT / "samples" / "line.wav"
TRANSCRIPT = (REPO_ROOT / "samples" / "line.txt").read_text()
FPS = 30.0
CLOSING = ("mouthClose", "mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper")


@pytest.fixture(scope="module")
def line_take():
    """The phonetic engine's take of the sample line with its transcript (lips only), the words and
    phones of the transcript's alignment, and the audio."""
    audio = load_audio(LINE)
    take = generation.perform(audio, engine="phonetic", fps=FPS, layers=("lips",), transcript=TRANSCRIPT)
    phones, words, source, _ = review.phones_for_review(audio.samples, TRANSCRIPT)
    assert source == "transcript" and words
    return take, phones, words, audio


def _opened(curves, start, end):
    """`curves` with the lips eased open (no jump) over start..end and the closure tolerance around it."""
    times = curves.times()
    ramp = 0.1
    t0, t1 = start - review.CLOSURE_TOLERANCE_S, end + review.CLOSURE_TOLERANCE_S
    share = np.sin(0.5 * np.pi * np.clip(np.minimum(times - (t0 - ramp), (t1 + ramp) - times) / ramp, 0, 1)) ** 2
    values = curves.values.copy()
    jaw = arkit.INDEX["jawOpen"]
    values[:, jaw] = np.maximum(values[:, jaw], 0.4 * share)
    for name in CLOSING:
        values[:, arkit.INDEX[name]] *= 1.0 - share
    return curves.with_values(values)


def test_a_good_take_has_no_findings(line_take):
    take, phones, words, _ = line_take
    found = review.review(take.curves, phones, words)
    assert found.findings == (), [f.describe() for f in found.findings]
    assert found.summary() == "no findings"
    assert review.review(take.curves, take.phones).findings == ()


def test_a_removed_closure_is_found_at_its_bilabial_with_its_word(line_take):
    take, phones, words, _ = line_take
    bilabials = review.merged(phones, review.BILABIALS)
    phone, start, end = bilabials[3]
    found = review.review(_opened(take.curves, start, end), phones, words)
    assert [f.kind for f in found.findings] == [review.MISSED_CLOSURE]
    finding = found.findings[0]
    assert (finding.phone, finding.start, finding.end) == (phone, start, end)
    assert finding.word == review.word_at(words, start, end) and finding.word
    assert finding.measured > review.CLOSE_MM and 0 < finding.severity <= 1
    assert f"mm apart at the {phone} of '{finding.word}'" in finding.describe()
    assert finding.first <= round(0.5 * (start + end) * FPS) <= finding.last
    assert found.summary() == "1 missed closure"


def test_a_key_holding_the_mouth_open_at_a_closure_is_named(line_take):
    take, phones, words, _ = line_take
    _, start, end = next(b for b in review.merged(phones, review.BILABIALS) if b[2] - b[1] < 0.1)
    frame = int(round(0.5 * (start + end) * FPS))
    grid, _ = constraint_grid([Constraint(frame, "jawOpen", 0.6)], take.curves.num_frames)
    keyed = enforce(take.curves, grid)
    found = review.review(keyed, phones, words, constraints=grid)
    kinds = [f.kind for f in found.findings]
    assert review.FORCED_OPEN in kinds and review.MISSED_CLOSURE not in kinds
    finding = found.findings[kinds.index(review.FORCED_OPEN)]
    assert finding.channel == "jawOpen" and finding.key_frame == frame
    assert f"key on jawOpen at frame {frame}" in finding.describe()


def test_a_one_frame_spike_is_a_jump_on_its_channel(line_take):
    take, phones, words, _ = line_take
    values = take.curves.values.copy()
    frame = take.curves.num_frames // 2
    values[frame, arkit.INDEX["mouthFunnel"]] = min(values[frame, arkit.INDEX["mouthFunnel"]] + 0.6, 1.0)
    found = review.review(take.curves.with_values(values), phones, words)
    jumps = [f for f in found.findings if f.kind == review.JUMP]
    assert jumps and {f.channel for f in jumps} == {"mouthFunnel"}
    assert {f.first for f in jumps} <= {frame - 1, frame}


def _synthetic(phone_spans, seconds):
    phones = [PhoneInterval(p, s, e) for p, s, e in phone_spans]
    count = int(seconds * FPS) + 1
    return phones, np.zeros((count, arkit.NUM_CHANNELS), np.float32), np.arange(count) / FPS


def test_silences_vowels_rounding_and_stuck_channels():
    phones, values, times = _synthetic([(SILENCE, 0.0, 0.6), ("aa", 0.6, 0.8), ("uw", 0.8, 1.0), ("m", 1.0, 1.1),
                                        ("ae", 1.1, 1.4), ("d", 1.4, 1.5), ("iy", 1.5, 1.8), (SILENCE, 1.8, 2.0)],
                                       2.0)
    # open through the leading silence, the aa hardly opens, the uw is not rounded, the m closes, the ae opens
    values[:, arkit.INDEX["jawOpen"]] = np.interp(times, [0, 0.45, 0.6, 0.8, 0.95, 1.1, 1.2, 1.35, 1.5, 1.8],
                                                  [0.5, 0.5, 0.05, 0.05, 0, 0, 0.4, 0.4, 0.2, 0])
    values[:, arkit.INDEX["mouthSmileLeft"]] = np.interp(times, [0.1, 0.5], [0, 1])   # held at 1 through speech
    found = review.review(Curves(FPS, values), phones)
    kinds = {f.kind: f for f in found.findings}
    assert set(kinds) == {review.OPEN_SILENCE, review.CLOSED_VOWEL, review.UNROUNDED, review.STUCK}
    assert kinds[review.OPEN_SILENCE].measured > review.REST_MM and kinds[review.OPEN_SILENCE].end == 0.6
    assert kinds[review.CLOSED_VOWEL].phone == "aa" and kinds[review.CLOSED_VOWEL].measured < review.OPEN_MM
    assert kinds[review.UNROUNDED].phone == "uw"
    assert kinds[review.STUCK].channel == "mouthSmileLeft" and kinds[review.STUCK].measured == 1.0
    assert found.summary() == "1 closed vowel, 1 unrounded, 1 open silence, 1 stuck"
    document = json.loads(review.review_json(found))
    assert document["counts"] == {"closed vowel": 1, "unrounded": 1, "open silence": 1, "stuck": 1}
    assert [f["kind"] for f in document["findings"]] == [f.kind for f in found.findings]


def test_a_jaw_that_never_opens_through_speech_is_stuck():
    phones, values, _ = _synthetic([(SILENCE, 0.0, 0.2), ("s", 0.2, 0.3), ("ih", 0.3, 0.5), ("k", 0.5, 0.9),
                                    (SILENCE, 0.9, 1.2)], 1.2)
    stuck = [f for f in review.review(Curves(FPS, values), phones).findings if f.kind == review.STUCK]
    assert [f.channel for f in stuck] == ["jawOpen"]


def test_reviewing_a_minute_takes_well_under_half_a_second(line_take):
    take, phones, words, _ = line_take
    copies = int(np.ceil(60.0 / take.curves.duration))
    shift = take.curves.duration
    long_phones = [PhoneInterval(p.phone, p.start + k * shift, p.end + k * shift) for k in range(copies) for p in phones]
    long = Curves(FPS, np.tile(take.curves.values, (copies, 1)))
    assert long.duration >= 60.0
    began = time.perf_counter()
    review.review(long, long_phones)
    assert time.perf_counter() - began < 0.5


def test_the_default_lips_are_what_default_lips_py_measures_on_the_demo_head():
    import importlib.util

    script = REPO_ROOT / "scripts" / "default_lips.py"
    spec = importlib.util.spec_from_file_location("default_lips", script)
    default_lips = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(default_lips)
    printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert printed.stdout.splitlines() == default_lips.table_lines(DEFAULT_LIPS)
    # a mouth 50 mm wide whose lips meet at rest and when mouthClose cancels jawOpen, apart when not
    assert abs(DEFAULT_LIPS.w0 - default_lips.MOUTH_WIDTH_MM) < 0.1 and DEFAULT_LIPS.a0 < 0.1
    assert DEFAULT_LIPS.measure_named(jawOpen=0.3, mouthClose=0.3)[0] < 0.1
    assert DEFAULT_LIPS.measure_named(jawOpen=0.3)[0] > 10.0


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "inference", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_review_command_writes_a_report_and_prints_the_findings(line_take, tmp_path):
    take, phones, _, _ = line_take
    _, start, end = review.merged(phones, review.BILABIALS)[0]
    curves_file = tmp_path / "take.json"
    curves_file.write_text(batch.curves_json(_opened(take.curves, start, end)))
    result = _cli("review", LINE, "--curves", curves_file, "--transcript", REPO_ROOT / "samples" / "line.txt")
    assert result.returncode == 0, result.stderr
    assert "1 missed closure (phones: transcript)" in result.stdout
    document = json.loads((tmp_path / "take.review.json").read_text())
    assert document["counts"] == {"missed closure": 1} and document["phones"] == "transcript"
    assert document["findings"][0]["word"] in result.stdout


def test_the_review_command_refuses_bad_input_with_the_reason(tmp_path):
    junk = tmp_path / "take.json"
    junk.write_text('{"fps": 30}')
    result = _cli("review", LINE, "--curves", junk)
    assert result.returncode == 2 and "not a Lipkit curves document" in result.stderr
    good = tmp_path / "good.json"
    good.write_text(batch.curves_json(Curves.zeros(10, FPS)))
    result = _cli("review", tmp_path / "missing.wav", "--curves", good)
    assert result.returncode == 1 and "FAILED" in result.stderr and not (tmp_path / "good.review.json").exists()


def test_generating_with_review_writes_a_report_beside_the_take(tmp_path):
    result = _cli(LINE, "--out", tmp_path, "--engine", "phonetic", "--transcript", REPO_ROOT / "samples" / "line.txt",
                  "--layers", "lips", "--review")
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "line.review.json").read_text())
    assert document["phones"] == "take" and document["summary"] in result.stdout
    assert document["frames"] == len(json.loads((tmp_path / "line.json").read_text())["frames"])


def test_the_batch_report_counts_each_shots_findings(tmp_path, shipped_weights):
    shutil.copy(LINE, tmp_path / "line.wav")
    (tmp_path / "shots.csv").write_text(f"shot,audio,engine,transcript\nsh1,line.wav,phonetic,\"{TRANSCRIPT.strip()}\"\n")
    out = tmp_path / "out"
    result = _cli("batch", tmp_path / "shots.csv", "--out", out, "--layers", "lips", "--review")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "batch-report.json").read_text())
    written = json.loads((out / "sh1.review.json").read_text())
    assert report["results"][0]["findings"] == written["counts"]


def _reference_shapes(shared_data):
    from benchmarks import lipmetrics

    folder = shared_data / "faces" / "arkit_reference_face" / "obj"
    neutral = lipmetrics._read_obj(folder / "Neutral.obj")[0]
    shapes = {path.stem: lipmetrics._read_obj(path)[0] for path in folder.glob("*.obj") if path.stem != "Neutral"}
    return folder, neutral, shapes


def test_the_lips_are_found_on_the_reference_face(shared_data):
    from benchmarks import lipmetrics

    folder, neutral, shapes = _reference_shapes(shared_data)
    face = lipmetrics.load_reference_face(folder, arkit.NAMES)
    deltas = {name: shape - neutral for name, shape in shapes.items()}
    found = lips.find_lip_vertices(neutral, deltas)
    assert found.ids == face.landmark_ids          # lipmetrics finds them from the mouth's boundary loop
    geometry = lips.character_geometry(neutral, deltas, 1000.0)
    weights = np.random.default_rng(1).random((300, arkit.NUM_CHANNELS)).astype(np.float32) * 0.5
    for got, want in zip(geometry.measure_curves(Curves(FPS, weights)), face.measure(weights)):
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_the_lips_are_found_on_a_rig_named_and_oriented_differently(shared_data):
    """The same face as a Z-up rig in centimetres facing -Y, its shape keys named `blendShape1.mouth_close`:
    the mapping names the channels, the finder its own axes, and the millimetres come out the same."""
    _, neutral, shapes = _reference_shapes(shared_data)
    to_rig = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], np.float64) * 100.0   # y up -> z up, z forward -> -y
    renamed = {"blendShape1." + "_".join(mapping.name_words(name)).lower(): shape @ to_rig.T
               for name, shape in shapes.items()}
    pairs = mapping.mapped_pairs(mapping.detect(list(renamed)))
    assert {"jawOpen", "mouthClose", "mouthPucker"} <= set(pairs)
    basis = neutral @ to_rig.T
    deltas = {channel: renamed[key] - basis for channel, key in pairs.items()}
    found = lips.find_lip_vertices(basis, deltas)
    assert found.up == (2, 1) and found.forward == (1, -1) and found.lateral[0] == 0
    rig = lips.character_geometry(basis, deltas, 10.0)
    reference = lips.character_geometry(neutral, {c: shapes[c] - neutral for c in pairs}, 1000.0)
    assert found.ids == lips.find_lip_vertices(neutral, {c: shapes[c] - neutral for c in pairs}).ids
    take = Curves(FPS, np.random.default_rng(2).random((200, arkit.NUM_CHANNELS)).astype(np.float32) * 0.5)
    for got, want in zip(rig.measure_curves(take), reference.measure_curves(take)):
        np.testing.assert_allclose(got, want, atol=1e-4)
    assert rig.measure_named(jawOpen=1.0)[0] > 40.0     # millimetres of this face, not units of the rig


def test_a_rig_without_the_mouth_shapes_is_refused_with_the_reason():
    basis = np.zeros((4, 3))
    with pytest.raises(GeometryError, match="mouthPucker is not mapped"):
        lips.find_lip_vertices(basis, {"jawOpen": np.ones((4, 3)), "mouthClose": np.ones((4, 3))})
    with pytest.raises(GeometryError, match="mouthClose shape key does not move"):
        lips.find_lip_vertices(basis, {"jawOpen": np.ones((4, 3)), "mouthClose": basis, "mouthPucker": np.ones((4, 3))})


def test_the_review_command_passes_on_the_phone_finders_warnings(tmp_path):
    curves_file = tmp_path / "take.json"
    curves_file.write_text(batch.curves_json(Curves.zeros(124, FPS)))
    result = _cli("review", LINE, "--curves", curves_file, "--transcript", "?!")
    assert result.returncode == 0, result.stderr
    assert "The transcript has no words" in result.stderr
    document = json.loads((tmp_path / "take.review.json").read_text())
    assert document["phones"] == "transcript" and "The transcript has no words" in document["warnings"][0]
    counts = document["counts"]                                # a jaw that never opens through the line:
    assert counts["stuck"] >= 1 and counts["closed vowel"] >= 1 and "missed closure" not in counts
