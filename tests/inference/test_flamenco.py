"""The Flamenco job type (farm/flamenco/lipkit-batch.js), compiled by node as the Flamenco Manager
would: one task per shot running the extension's command, and a last task that collects and saves.
Every command it builds must parse with the command's own argument parser."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from inference import cli

REPO_ROOT = Path(__file__).resolve().parents[2]
JOB_TYPE = REPO_ROOT / "farm" / "flamenco" / "lipkit-batch.js"
HARNESS = REPO_ROOT / "tests" / "flamenco_harness.js"
SETTINGS = {"shot_list": "/farm/ep01/shots.csv", "cache_dir": "/farm/ep01/cache", "report_dir": "/farm/ep01/reports",
            "blendfile": "/farm/ep01/scene.blend"}


def compile_job(shots):
    if shutil.which("node") is None:
        pytest.skip("node is not installed (scripts/setup.sh installs nodejs)")
    settings = {**SETTINGS, "shots": json.dumps(shots)}
    return subprocess.run(["node", str(HARNESS), str(JOB_TYPE), json.dumps(settings)], capture_output=True,
                          text=True, timeout=60)


def lipkit_args(task):
    """The task's one Blender command, checked, as parsed by the `lipkit` command's parser."""
    (command,) = task["commands"]
    assert command["type"] == "blender-render"
    parameters = command["parameters"]
    assert parameters["exe"] == "{blender}" and parameters["exeArgs"] == "{blenderArgs}"
    assert parameters["blendfile"] == SETTINGS["blendfile"]
    args = parameters["args"]
    assert args[:2] == ["--command", "lipkit"], "--command must come after the .blend and take the rest"
    return cli.blender_parser().parse_args(args[2:])


def test_one_task_per_shot_then_one_that_collects_and_saves():
    shots = ["sc01 sh010", "sc01_sh020", "sh030"]
    result = compile_job(shots)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["settings"] == ["shot_list", "shots", "cache_dir", "report_dir", "blendfile"]
    *per_shot, collect = document["tasks"]
    assert [task["name"] for task in per_shot] == [f"lipsync {shot}" for shot in shots]
    for shot, task in zip(shots, per_shot):
        args = lipkit_args(task)
        assert args.command == "batch" and args.shot == [shot] and not args.save
        assert str(args.shots) == SETTINGS["shot_list"] and str(args.cache) == SETTINGS["cache_dir"]
        assert str(args.report) == f"{SETTINGS['report_dir']}/{shot}.json"
        assert task["dependencies"] == []
    args = lipkit_args(collect)
    assert args.save and args.shot == shots and str(args.cache) == SETTINGS["cache_dir"]
    assert str(args.report) == f"{SETTINGS['report_dir']}/batch-report.json"
    assert collect["dependencies"] == [task["name"] for task in per_shot]


def test_no_shots_is_refused():
    result = compile_job([])
    assert result.returncode == 1 and "non-empty JSON list of shot names" in result.stderr
