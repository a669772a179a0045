"""Fuzzing (hypothesis) of the readers a user's files reach: the audio loader, the shot-list reader,
the constraints reader, the curves reader and the models' sidecar reader.

Each reader must either return a value or raise its documented error (`AudioError`, `ShotListError`,
`ValueError`, `ModelError`), for any bytes: never another exception, and never more memory than the
bar. Inputs are mutations of valid files (the shapes a damaged file takes) plus free-form data.

The normal test command runs a short pass (`FUZZ_EXAMPLES` per reader, well under 60 s together on
the project's 2-core machine); `LIPKIT_FUZZ_EXAMPLES=5000 scripts/test.sh -k fuzz` runs a long one.
The short pass is derandomized (the same examples every run, so CI is repeatable); the long one
explores, keeping failing examples in `.pytest_cache/hypothesis/` (ignored by git) and replaying them
first.
"""

import io
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is pinned in requirements/common.txt")
from hypothesis import HealthCheck, example, given, settings, strategies as st  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402

import hostile_files  # noqa: E402
from inference import arkit, models, shotlist  # noqa: E402
from inference.audio import load_audio  # noqa: E402
from inference.constraints import read_constraints  # noqa: E402
from inference.errors import AudioError, ModelError  # noqa: E402
from inference.exchange import read_curves_file  # noqa: E402

FUZZ_EXAMPLES = int(os.environ.get("LIPKIT_FUZZ_EXAMPLES", "120"))
# hypothesis' files (failing examples, replayed first) live in pytest's cache folder, ignored by git
HYPOTHESIS_HOME = Path(__file__).resolve().parents[2] / ".pytest_cache" / "hypothesis"
set_hypothesis_home_dir(HYPOTHESIS_HOME)
DATABASE = DirectoryBasedExampleDatabase(HYPOTHESIS_HOME / "examples")
LONG_RUN = "LIPKIT_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=not LONG_RUN,
                database=DATABASE if LONG_RUN else None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FOLDER = Path(tempfile.mkdtemp(prefix="lipkit-fuzz-"))


def write(name: str, data) -> Path:
    path = FOLDER / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


# --------------------------------------------------------------------------- audio

SEED_WAV = hostile_files.wav_bytes(hostile_files.speechlike(0.25), 16000)


def _flac_seed() -> bytes:
    import soundfile
    buffer = io.BytesIO()
    soundfile.write(buffer, hostile_files.speechlike(0.25), 16000, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


SEEDS = {"wav": SEED_WAV, "flac": _flac_seed()}


@st.composite
def damaged(draw, seed: bytes):
    """`seed` with a few bytes overwritten, a header field replaced, cut short or extended."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.integers(0, min(len(data) - 1, 80)))      # headers live at the start
        data[where] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        where = draw(st.sampled_from([4, 22, 24, 28, 32, 34, 40]))  # RIFF size, channels, rate, bytes/s, align, bits, data size
        data[where:where + 4] = struct.pack("<I", draw(st.sampled_from([0, 1, 3, 65535, 2**31 - 1, 2**32 - 1])))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=64))


@FUZZ
@given(kind=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_fuzz_audio_loader(kind, data):
    payload = data.draw(damaged(SEEDS[kind]))
    path = write(f"fuzz.{kind}", payload)
    try:
        audio = load_audio(path)
    except AudioError:
        return
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert np.all(np.isfinite(audio.samples))


@FUZZ
@given(payload=st.binary(max_size=2048), suffix=st.sampled_from(["wav", "mp3", "ogg", "flac", "aiff"]))
def test_fuzz_audio_loader_on_junk(payload, suffix):
    try:
        load_audio(write(f"junk.{suffix}", payload))
    except AudioError:
        pass


# --------------------------------------------------------------------------- shot lists

CELLS = st.one_of(st.text(max_size=20), st.sampled_from(["line.wav", "regression", "phonetic", "-1", "2147483648",
                                                          "1e400", "nan", "CON", "s1", "S1", "happy=2", "../x.wav"]))
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=20)
COLUMN_NAMES = st.sampled_from(list(shotlist.COLUMNS) + ["Audio Path", "start", "bogus", ""])


@FUZZ
@given(header=st.lists(COLUMN_NAMES, min_size=1, max_size=6),
       rows=st.lists(st.lists(CELLS, max_size=7), max_size=6))
def test_fuzz_shot_list_csv(header, rows):
    (FOLDER / "line.wav").write_bytes(SEED_WAV)
    text = "\n".join(",".join(json.dumps(cell) if "," in cell or '"' in cell or "\n" in cell else cell for cell in row)
                     for row in [header] + rows)
    try:
        listed = shotlist.load_shot_list(write("shots.csv", text))
    except shotlist.ShotListError:
        return
    for shot in listed.shots:
        assert shot.audio.resolve().is_relative_to(FOLDER.resolve())
        assert shotlist.check_name(shot.name) == shot.name
    keys = [shotlist.name_key(shot.name) for shot in listed.shots]
    assert len(keys) == len(set(keys))


@FUZZ
@given(document=st.one_of(JSON_VALUES, st.lists(st.dictionaries(COLUMN_NAMES, st.one_of(CELLS, JSON_VALUES), max_size=6),
                                                 max_size=5)))
def test_fuzz_shot_list_json(document):
    (FOLDER / "line.wav").write_bytes(SEED_WAV)
    try:
        listed = shotlist.load_shot_list(write("shots.json", json.dumps(document)))
    except shotlist.ShotListError:
        return
    assert all(0 <= shot.seed < 2**31 for shot in listed.shots)


@FUZZ
@given(text=st.text(max_size=300))
def test_fuzz_shot_list_free_text(text):
    for suffix in ("csv", "json"):
        try:
            shotlist.load_shot_list(write(f"free.{suffix}", text))
        except shotlist.ShotListError:
            pass


# --------------------------------------------------------------------------- constraints and curves

ENTRY = st.fixed_dictionaries({"frame": st.one_of(st.integers(-5, 10**20), JSON_VALUES),
                               "channel": st.one_of(st.sampled_from(arkit.NAMES[:3]), JSON_VALUES),
                               "value": st.one_of(st.floats(), JSON_VALUES)})


@FUZZ
@given(document=st.one_of(st.lists(ENTRY, max_size=5), JSON_VALUES), nesting=st.integers(0, 3000))
def test_fuzz_constraints_reader(document, nesting):
    text = "[" * nesting + json.dumps(document) + "]" * nesting
    try:
        read_constraints(write("constraints.json", text))
    except ValueError:
        pass


@FUZZ
@given(document=st.fixed_dictionaries({}, optional={"fps": st.one_of(st.floats(), JSON_VALUES),
                                                    "channels": st.one_of(st.lists(st.sampled_from(arkit.NAMES[:4] + ("x",)),
                                                                                   max_size=4), JSON_VALUES),
                                                    "frames": st.one_of(st.lists(st.lists(st.floats(), max_size=4), max_size=4),
                                                                        JSON_VALUES),
                                                    "start": JSON_VALUES}))
def test_fuzz_curves_json(document):
    try:
        loaded = read_curves_file(write("curves.json", json.dumps(document)))
    except ValueError:
        return
    assert np.all(np.isfinite(loaded.curves.values))


@FUZZ
@given(text=st.text(max_size=400), fps=st.one_of(st.none(), st.floats(1, 240)))
def test_fuzz_curves_csv(text, fps):
    try:
        read_curves_file(write("curves.csv", text), fps=fps)
    except ValueError:
        pass


# --------------------------------------------------------------------------- sidecars


@pytest.fixture(scope="module")
def sidecar():
    path = models.find_weights_dir() / "regression.json"
    if not path.is_file():
        pytest.skip(f"no shipped sidecar at {path}")
    return json.loads(path.read_text())


@FUZZ
@example(replacements={"channels": 5})
@given(replacements=st.dictionaries(st.sampled_from(models.REQUIRED_KEYS + ("features",)), JSON_VALUES, max_size=3))
def test_fuzz_sidecar_reader(sidecar, replacements):
    path = write("regression.json", json.dumps({**sidecar, **replacements}))
    try:
        models.read_sidecar(path)
    except ModelError:
        pass
