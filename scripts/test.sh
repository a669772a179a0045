#!/usr/bin/env bash
# The test command: sets up what it needs (scripts/setup.sh), then runs every test in real Blender.
#   tests/inference, tests/blender  on bpy 5.0
#   tests/blender                   on bpy 4.2 LTS
#   tests/training                  in the training environment (torch CPU), tiny real runs
# Extra arguments go to pytest (e.g. -k mapping, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LIPKIT_REQUIRE_BPY=1
echo "== tests on Blender 5.0 (bpy wheel) =="
.venv/bpy-5.0/bin/python -m pytest tests/inference tests/blender "$@"
echo "== Blender tests on Blender 4.2 LTS (bpy wheel) =="
.venv/bpy-4.2/bin/python -m pytest tests/blender "$@"
echo "== training smoke tests (torch CPU) =="
.venv/train/bin/python -m pytest tests/training "$@"
