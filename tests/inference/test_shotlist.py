"""Shot lists: CSV and JSON rows checked one by one, numbered as a person finds them, paths kept in the project."""

import json
import shutil
from pathlib import Path

import pytest

from inference.shotlist import ShotListError, check_name, load_shot_list, output_path

LINE = Path(__file__).resolve().parents[2] / "samples" / "line.wav"
HEADER = "shot,audio path,character,start frame,engine,seed,emotion mix,transcript,take name\n"


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    (folder / "audio").mkdir(parents=True)
    shutil.copy(LINE, folder / "audio" / "line.wav")
    return folder


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_csv_row_with_every_column(project):
    path = write(project, "shots.csv", HEADER +
                 'sh010,audio/line.wav,Alice,101,phonetic,7,"happy=0.5, sad=0.25",Bob met Pam,sh010 main\n')
    listed = load_shot_list(path)
    assert listed.errors == ()
    (shot,) = listed.shots
    assert shot.row == 2 and shot.name == "sh010" and shot.character == "Alice"
    assert shot.audio == (project / "audio" / "line.wav").resolve()
    assert (shot.start_frame, shot.engine, shot.seed) == (101, "phonetic", 7)
    assert shot.emotion == {"happy": 0.5, "sad": 0.25}
    assert shot.transcript == "Bob met Pam" and shot.take_name == "sh010 main"


def test_only_shot_and_audio_are_needed(project):
    listed = load_shot_list(write(project, "shots.csv", "Shot,Audio\nsh1,audio/line.wav\n\n"))
    (shot,) = listed.shots
    assert (shot.engine, shot.seed, shot.start_frame, shot.take_name, shot.emotion) == ("regression", 0, 1, "sh1", {})


def test_three_broken_rows_of_twenty_are_listed_by_row_number(project):
    rows = [f"sh{index:03d},audio/line.wav,,,,{index},,," for index in range(20)]
    rows[4] = "sh004,audio/missing.wav,,,,,,,"       # row 6
    rows[11] = "sh011,audio/line.wav,,,diffuse,,,,"  # row 13
    rows[17] = "sh003,audio/line.wav,,,,,,,"         # row 19: sh003 is on row 5
    listed = load_shot_list(write(project, "shots.csv", HEADER + "\n".join(rows) + "\n"))
    assert len(listed.shots) == 17
    assert [(error.row, error.shot) for error in listed.errors] == [(6, "sh004"), (13, "sh011"), (19, "sh003")]
    assert "missing" in listed.errors[0].message
    assert "unknown engine 'diffuse'" in listed.errors[1].message
    assert "duplicate shot name 'sh003' (first on row 5)" in listed.errors[2].message


def test_paths_outside_the_project_are_refused(project, tmp_path):
    shutil.copy(LINE, tmp_path / "outside.wav")
    inside_absolute = project / "audio" / "line.wav"
    path = write(project, "shots.csv", f"shot,audio\na,../outside.wav\nb,{tmp_path / 'outside.wav'}\n"
                                       f"c,{inside_absolute}\nd,audio/../../outside.wav\n")
    listed = load_shot_list(path)
    assert [shot.name for shot in listed.shots] == ["c"]
    assert [error.row for error in listed.errors] == [2, 3, 5]
    assert all("outside the project folder" in error.message for error in listed.errors)


def test_relative_paths_resolve_against_the_given_project_folder(project, tmp_path):
    lists = tmp_path / "lists"
    lists.mkdir()
    path = write(lists, "shots.csv", "shot,audio\na,audio/line.wav\n")
    assert load_shot_list(path).errors[0].message.startswith("audio file 'audio/line.wav' is missing")
    assert load_shot_list(path, project).shots[0].audio == (project / "audio" / "line.wav").resolve()


def test_shot_names_never_make_paths(project, tmp_path):
    path = write(project, "shots.csv", "shot,audio\n../escape,audio/line.wav\nsub/dir,audio/line.wav\n"
                                       ".hidden,audio/line.wav\n,audio/line.wav\nok name-1,audio/line.wav\n")
    listed = load_shot_list(path)
    assert [shot.name for shot in listed.shots] == ["ok name-1"]
    assert [error.row for error in listed.errors] == [2, 3, 4, 5]
    for bad in ("../escape", "a/b", "a\\b", ".."):
        with pytest.raises(ValueError):
            output_path(tmp_path, bad, ".json")
    assert output_path(tmp_path, "sh 1", ".json") == tmp_path / "sh 1.json"
    assert check_name("sc01_sh020") == "sc01_sh020"


def test_unknown_characters_are_row_errors_when_the_scene_is_known(project):
    path = write(project, "shots.csv", "shot,audio,character\na,audio/line.wav,Alice\nb,audio/line.wav,Bobb\n"
                                       "c,audio/line.wav,\n")
    listed = load_shot_list(path, characters={"Alice", "Bob"})
    assert [shot.name for shot in listed.shots] == ["a"]
    assert "unknown character 'Bobb'" in listed.errors[0].message
    assert "no character" in listed.errors[1].message
    assert len(load_shot_list(path).shots) == 3  # without a scene, the character is a label


def test_json_lists_number_rows_from_one_and_take_objects(project):
    document = {"shots": [
        {"shot": "a", "audio": "audio/line.wav", "emotion": {"angry": 0.4}, "seed": 3, "start frame": 10},
        {"shot": "b", "audio": "audio/line.wav", "seed": 1.5},
        {"shot": "c", "audio": "audio/line.wav", "mood": "sad"},
        "not an object",
        {"shot": "e", "audio": "audio/line.wav", "emotion": "joyful=2"},
    ]}
    listed = load_shot_list(write(project, "shots.json", json.dumps(document)))
    (shot,) = listed.shots
    assert (shot.row, shot.emotion, shot.seed, shot.start_frame) == (1, {"angry": 0.4}, 3, 10)
    assert [error.row for error in listed.errors] == [2, 3, 4, 5]
    assert "whole number" in listed.errors[0].message and "'mood'" in listed.errors[1].message
    assert "unknown emotion 'joyful'" in listed.errors[3].message
    top_level_list = write(project, "list.json", json.dumps(document["shots"][:1]))
    assert load_shot_list(top_level_list).shots[0].name == "a"


@pytest.mark.parametrize("name, text, problem", [
    ("shots.csv", "shot,audio,charcter\n", "unknown column(s) 'charcter'"),
    ("shots.csv", "shot,character\n", "required column(s) audio"),
    ("shots.csv", "", "empty"),
    ("shots.json", "{not json", "not valid JSON"),
    ("shots.json", '{"rows": []}', "expected a list of shots"),
    ("shots.txt", "shot,audio\n", "must be a .csv or .json"),
])
def test_a_file_that_is_not_a_shot_list(project, name, text, problem):
    with pytest.raises(ShotListError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_shot_list(write(project, name, text))


def test_a_missing_shot_list_is_reported(project):
    with pytest.raises(ShotListError, match="cannot read the shot list"):
        load_shot_list(project / "nope.csv")
