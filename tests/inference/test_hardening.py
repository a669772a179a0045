"""Hostile input without Blender (issue 22): lying audio headers, numbers out of range, writes that
could leave the output folder, colliding names, parsers fed what no parser expects, a damaged
cache, and orphaned batch workers. Every case is a real file written here, through the real code."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hostile_files
from inference import batch, files, limits, shotlist
from inference.audio import load_audio
from inference.constraints import read_constraints
from inference.errors import AudioError
from inference.exchange import read_curves_file
from inference.mapping import preset_from_json
from inference.errors import MappingError

REPO_ROOT = Path(__file__).resolve().parents[2]
PEAK_MEMORY_BAR_MB = 300


def _run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "inference", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """A 2 s speech-like WAV (16 kHz mono)."""
    path = tmp_path_factory.mktemp("line") / "line.wav"
    path.write_bytes(hostile_files.wav_bytes(hostile_files.speechlike(2.0), 16000))
    return path


# --------------------------------------------------------------------------- 1, 2: sound files


def test_every_hostile_file_is_a_typed_error_naming_it(tmp_path):
    for name, path in hostile_files.write_all(tmp_path, hostile_files.hostile_files()).items():
        with pytest.raises(AudioError) as info:
            load_audio(path)
        assert name in str(info.value)


def test_damaged_files_that_hold_speech_load_with_their_real_length(tmp_path):
    paths = hostile_files.write_all(tmp_path, hostile_files.readable_files())
    assert load_audio(paths["data-size-4gb.wav"]).duration == pytest.approx(2.0)
    assert load_audio(paths["truncated-data.wav"]).duration == pytest.approx(0.5)


MEMORY_PROBE = """
import resource, sys
sys.path[:0] = {paths!r}
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))   # a regression fails here, not the machine
import hostile_files
from pathlib import Path
from inference.audio import load_audio
from inference.errors import AudioError
folder = Path(sys.argv[1])
outcomes = []
for group in (hostile_files.hostile_files(), hostile_files.readable_files()):
    for name, path in hostile_files.write_all(folder, group).items():
        try:
            load_audio(path)
            outcomes.append("ok")
        except AudioError:
            outcomes.append("refused")
# the peak of this process's own memory (VmHWM starts afresh at exec; ru_maxrss keeps the parent's)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(len(outcomes), peak_kb // 1024)
"""


def test_hostile_headers_stay_within_the_memory_bar(tmp_path):
    code = MEMORY_PROBE.format(paths=[str(REPO_ROOT), str(REPO_ROOT / "tests")])
    completed = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    count, peak_mb = map(int, completed.stdout.split())
    assert count == len(hostile_files.hostile_files()) + len(hostile_files.readable_files())
    assert peak_mb <= PEAK_MEMORY_BAR_MB


def test_the_command_fails_each_bad_file_alone(tmp_path, line):
    paths = hostile_files.write_all(tmp_path, {name: data for name, data in hostile_files.hostile_files().items()
                                               if name in ("junk.mp3", "rate-1hz.wav", "channels-65535.wav")})
    result = _run(*paths.values(), line, "--out", tmp_path / "out", "--engine", "phonetic", "--layers", "lips")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    failures = [row for row in result.stderr.splitlines() if row.startswith("FAILED")]
    assert len(failures) == 3 and all(any(name in row for row in failures) for name in paths)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["line.json"]


# --------------------------------------------------------------------------- 3: numbers


@pytest.mark.parametrize("args, words", [
    (["--fps", "inf"], "--fps must be a finite number"),
    (["--fps", "nan"], "--fps must be a finite number"),
    (["--fps", "1e9"], "--fps must be from 1 to 240"),
    (["--fps", "1e5"], "--fps must be from 1 to 240"),
    (["--fps", "1e-6"], "--fps must be from 1 to 240"),
    (["--fps", "-30"], "--fps must be from 1 to 240"),
    (["--seed", "-1"], "--seed must be from 0 to 2147483647, got -1"),
    (["--seed", str(2**31)], "--seed must be from 0 to 2147483647"),
    (["--engine", "diffusion", "--steps", "1001"], "--steps must be from 1 to 1000"),
    (["--engine", "diffusion", "--guidance", "inf"], "--guidance must be a finite number"),
    (["--engine", "diffusion", "--guidance", "-0.5"], "--guidance must be from 0 to 20"),
])
def test_numbers_out_of_range_are_usage_errors_at_once(line, tmp_path, args, words):
    began = time.perf_counter()
    result = _run(line, "--out", tmp_path / "out", *args, timeout=60)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr
    assert time.perf_counter() - began < 30 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, words", [
    (["--workers", "0"], "--workers must be from 1 to 32"),
    (["--workers", "100000"], "--workers must be from 1 to 32"),
    (["--fps", "inf"], "--fps must be a finite number"),
    (["--fps", "0.5"], "--fps must be from 1 to 240"),
])
def test_batch_numbers_out_of_range_are_usage_errors(line, tmp_path, args, words):
    (tmp_path / "shots.csv").write_text(f"shot,audio\na,{line}\n")
    result = _run("batch", tmp_path / "shots.csv", "--out", tmp_path / "out", "--project", line.parent, *args)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_shot_list_numbers_out_of_range_are_row_errors(tmp_path, line):
    rows = [("a", "2147483648", "1"), ("b", "-1", "1"), ("c", "1.5", "1"), ("d", "0", "99999999999"),
            ("e", "0", "-1048575"), ("f", "0", "1e400"), ("g", "2147483647", "-1048574"), ("h", "", "")]
    text = "shot,audio,seed,start frame\n" + "".join(f"{n},{line.name},{s},{f}\n" for n, s, f in rows)
    (line.parent / "numbers.csv").write_text(text)
    listed = shotlist.load_shot_list(line.parent / "numbers.csv")
    assert [error.row for error in listed.errors] == [2, 3, 4, 5, 6, 7]
    assert "seed must be from 0 to 2147483647, got 2147483648" in listed.errors[0].message
    assert "start frame must be from -1048574 to 1048574" in listed.errors[3].message
    assert [(shot.seed, shot.start_frame) for shot in listed.shots] == [(2147483647, -1048574), (0, 1)]
    document = [{"shot": "j", "audio": line.name, "seed": 1e300}, {"shot": "k", "audio": line.name, "seed": True},
                {"shot": "l", "audio": line.name, "start_frame": float("nan")}]
    (line.parent / "numbers.json").write_text(json.dumps(document))
    assert len(shotlist.load_shot_list(line.parent / "numbers.json").errors) == 3


def test_the_limits_are_one_set_of_ranges():
    assert limits.check_fps(29.97) == 29.97 and limits.check_seed(0) == 0
    for check, value in [(limits.check_fps, float("inf")), (limits.check_seed, -1), (limits.check_frame, 2**31),
                         (limits.check_steps, 0), (limits.check_guidance, float("nan")), (limits.check_workers, 0),
                         (limits.check_seed, "7"), (limits.check_seed, 1.5), (limits.check_seed, True)]:
        with pytest.raises(ValueError):
            check(value)


# --------------------------------------------------------------------------- 4: writes


def test_a_planted_symlink_is_replaced_never_written_through(tmp_path, line):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    victims = {}
    for planted in ("line.json.partial", "line.json", "line.csv", ".line.json.partial"):
        victim = elsewhere / f"{planted}.victim"
        victim.write_text("precious")
        (out / planted).symlink_to(victim)
        victims[planted] = victim
    result = _run(line, "--out", out, "--engine", "phonetic", "--layers", "lips", "--format", "llf")
    assert result.returncode == 0, result.stderr
    assert all(victim.read_text() == "precious" for victim in victims.values())
    assert not (out / "line.json").is_symlink() and json.loads((out / "line.json").read_text())["fps"] == 30.0
    assert not (out / "line.csv").is_symlink()


def test_write_atomically_leaves_no_partial_and_keeps_links_targets(tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    link = tmp_path / "out.json"
    link.symlink_to(target)
    files.write_atomically(link, "{}")
    assert target.read_text() == "precious" and link.read_text() == "{}" and not link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "victim.txt"]


@pytest.mark.parametrize("where, words", [
    ("a-file", "is a file, not a folder"),
    ("a-file/below", "cannot make the output folder"),
    ("/proc/lipkit-out", "cannot make the output folder"),
])
def test_an_unusable_out_is_a_clear_usage_error(tmp_path, line, where, words):
    (tmp_path / "a-file").write_text("not a folder")
    out = where if where.startswith("/") else tmp_path / where
    result = _run(line, "--out", out, "--engine", "phonetic")
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr
    result = _run("batch", tmp_path / "none.csv", "--out", out)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_when_the_csv_cannot_be_written_the_json_is_not_left_either(tmp_path, line):
    out = tmp_path / "out"
    (out / "line.csv").mkdir(parents=True)       # the CSV's place is taken by a folder
    result = _run(line, "--out", out, "--engine", "phonetic", "--layers", "lips", "--format", "llf")
    assert result.returncode == 1 and "FAILED" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["line.csv"] and not any((out / "line.csv").iterdir())


def test_write_all_or_none_removes_what_it_placed(tmp_path):
    (tmp_path / "b.csv").mkdir()
    with pytest.raises(OSError):
        files.write_all_or_none({tmp_path / "a.json": "{}", tmp_path / "b.csv": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv"]


# --------------------------------------------------------------------------- 5: names


@pytest.mark.parametrize("name", ["CON", "con", "Nul", "COM1", "lpt9", "con.txt", "AUX.json", "take.", "take ",
                                  "batch-report", "Batch-Report", "x" * 121])
def test_names_that_fail_on_windows_or_macos_are_refused(name):
    with pytest.raises(ValueError, match="cannot be a file name"):
        shotlist.check_name(name)


@pytest.mark.parametrize("name", ["console", "COM", "nullable", "take.1", "s1", "batch report 2", "x" * 120])
def test_ordinary_names_pass(name):
    assert shotlist.check_name(name) == name


def test_names_differing_only_in_case_collide_per_row(tmp_path, line):
    text = "shot,audio\n" + "".join(f"{name},{line.name}\n" for name in ("s1", "S1", "Intro", "intro", "CON", "ok"))
    (line.parent / "case.csv").write_text(text)
    listed = shotlist.load_shot_list(line.parent / "case.csv")
    assert [shot.name for shot in listed.shots] == ["s1", "Intro", "ok"]
    assert [(error.row, error.shot) for error in listed.errors] == [(3, "S1"), (5, "intro"), (6, "CON")]
    assert "first on row 2" in listed.errors[0].message and "case" in listed.errors[0].message


def test_the_command_refuses_inputs_whose_outputs_collide_by_case(tmp_path, line):
    upper = tmp_path / "LINE.wav"
    upper.write_bytes(line.read_bytes())
    result = _run(line, upper, "--out", tmp_path / "out")
    assert result.returncode == 2 and "overwrite each other" in result.stderr


# --------------------------------------------------------------------------- 6: parsers


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_json_is_a_clear_error_everywhere(tmp_path):
    for depth in (100, 100_000):
        (tmp_path / "c.json").write_text(nested(depth))
        with pytest.raises(ValueError, match="nested more than"):
            read_constraints(tmp_path / "c.json")
        (tmp_path / "s.json").write_text('{"shots": ' + nested(depth) + "}")
        with pytest.raises(shotlist.ShotListError, match="nested more than"):
            shotlist.read_records(tmp_path / "s.json")
        (tmp_path / "curves.json").write_text('{"fps": 30, "channels": ["jawOpen"], "frames": ' + nested(depth) + "}")
        with pytest.raises(ValueError, match="nested more than"):
            read_curves_file(tmp_path / "curves.json")
        with pytest.raises(MappingError, match="nested more than"):
            preset_from_json(nested(depth))


def test_a_csv_field_over_128_kib_is_a_clear_error(tmp_path):
    (tmp_path / "shots.csv").write_text("shot,audio,transcript\na,line.wav," + "word " * 40_000 + "\n")
    with pytest.raises(shotlist.ShotListError, match="a field may be at most 128 KiB"):
        shotlist.read_records(tmp_path / "shots.csv")
    (tmp_path / "curves.csv").write_text("time,jawOpen\n0," + "1" * 200_000 + "\n")
    with pytest.raises(ValueError, match="a field may be at most 128 KiB"):
        read_curves_file(tmp_path / "curves.csv")


@pytest.mark.parametrize("document", [
    {"fps": 30, "channels": 5, "frames": [[0.1]]},
    {"fps": "fast", "channels": ["jawOpen"], "frames": [[0.1]]},
    {"fps": 1e9, "channels": ["jawOpen"], "frames": [[0.1]]},
    {"fps": 30, "channels": [["jawOpen"]], "frames": [[0.1]]},
    {"fps": 30, "channels": ["jawOpen"], "frames": "lots"},
    {"fps": 30, "channels": ["jawOpen"], "frames": [[float("nan")]]},
    [1, 2, 3],
])
def test_curves_documents_of_the_wrong_types_are_clear_errors(tmp_path, document):
    (tmp_path / "curves.json").write_text(json.dumps(document))
    with pytest.raises(ValueError):
        read_curves_file(tmp_path / "curves.json")


@pytest.mark.parametrize("entry", [{"frame": 1, "channel": ["jawOpen"], "value": 0.5},
                                   {"frame": 1, "channel": {"a": 1}, "value": 0.5},
                                   {"frame": [1], "channel": "jawOpen", "value": 0.5}])
def test_constraints_of_the_wrong_types_are_clear_errors(tmp_path, entry):
    (tmp_path / "c.json").write_text(json.dumps([entry]))
    with pytest.raises(ValueError, match=r"constraints\[0\]"):
        read_constraints(tmp_path / "c.json")


def test_shot_list_rows_of_the_wrong_types_are_row_errors(tmp_path, line):
    document = [{"shot": ["a"], "audio": line.name}, {"shot": "b", "audio": {"x": 1}},
                {"shot": "c", "audio": "a" * 5000}, {"shot": "d", "audio": "nul\x00.wav"}, {"shot": "e", "audio": line.name}]
    (line.parent / "types.json").write_text(json.dumps(document))
    listed = shotlist.load_shot_list(line.parent / "types.json")
    assert [shot.name for shot in listed.shots] == ["e"] and [error.row for error in listed.errors] == [1, 2, 3, 4]


# --------------------------------------------------------------------------- 8: cache, workers


def test_a_cache_entry_holding_nan_is_made_again_and_the_output_is_strict_json(tmp_path, line):
    (tmp_path / "shots.csv").write_text(f"shot,audio,engine\na,{line.name},phonetic\n")
    args = ("batch", tmp_path / "shots.csv", "--out", tmp_path / "out", "--project", line.parent, "--layers", "lips")
    assert _run(*args).returncode == 0
    fresh = json.loads((tmp_path / "out" / "a.json").read_text())
    (entry,) = (tmp_path / "out" / batch.CACHE_FOLDER).glob("*.npz")
    with np.load(entry) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["values"][3, 5] = np.nan
    with open(entry, "wb") as handle:
        np.savez(handle, **arrays)
    result = _run(*args)
    assert result.returncode == 0 and "(cached)" not in result.stdout
    again = json.loads((tmp_path / "out" / "a.json").read_text(), parse_constant=lambda name: pytest.fail(name))
    assert again == fresh


WORKER_CHILD = """
import sys, time
sys.path[:0] = {paths!r}
from pathlib import Path
from inference import batch
from inference.shotlist import Shot

def slow_shot(shot, settings, out_dir, cache_dir):
    (Path(out_dir) / f"{{shot.name}}.started").touch()
    waited = 0.0
    while not (Path(out_dir) / "parent-killed").exists() and waited < 60:   # the test kills the parent now
        time.sleep(0.05)
        waited += 0.05
    (Path(out_dir) / f"{{shot.name}}.json").write_text("written after the parent died")
    return batch.Outcome(shot.row, shot.name, batch.DONE)

batch.run_file_shot = slow_shot             # spawned workers run this module too (as __mp_main__)
if __name__ == "__main__":                  # ... but not this: without the guard they fail to start
    shots = [Shot(i, f"s{{i}}", Path("x.wav")) for i in range(2)]
    batch.run_file_shots(shots, batch.Settings(), Path(sys.argv[1]), workers=2)
"""


def test_workers_end_with_a_killed_parent(tmp_path):
    code = WORKER_CHILD.format(paths=[str(REPO_ROOT), str(Path(__file__).parent)])
    script = tmp_path / "parent.py"
    script.write_text(code)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=tmp_path)
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("s*.started"))) < 2:      # both workers are in their shots
        assert time.monotonic() < deadline and parent.poll() is None, "the workers never started their shots"
        time.sleep(0.05)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    (tmp_path / "parent-killed").touch()          # an orphan would write its shot now
    time.sleep(3.0)
    assert not list(tmp_path.glob("s*.json")), "an orphaned worker wrote its shot"
