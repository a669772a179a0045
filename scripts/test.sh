#!/usr/bin/env bash
# The test command: sets up what it needs (scripts/setup.sh), then runs every test in real Blender.
#   tests/inference, tests/blender  on bpy 5.0
#   tests/blender                   on bpy 4.2 LTS and on bpy 4.5 LTS
#   tests/providers                 with onnxruntime-gpu (its CUDA provider offered, failing to start)
#                                   and with the Windows zip's onnxruntime version (CPU build)
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
echo "== Blender tests on Blender 4.5 LTS (bpy wheel) =="
.venv/bpy-4.5/bin/python -m pytest tests/blender "$@"
echo "== provider choice with onnxruntime's CUDA build (no GPU needed) =="
.venv/ort-gpu/bin/python -m pytest tests/providers/test_cuda_build.py "$@"
echo "== the models on the Windows zip's onnxruntime version =="
.venv/ort-1.24/bin/python -m pytest tests/providers/test_windows_version.py "$@"
echo "== training smoke tests (torch CPU) =="
.venv/train/bin/python -m pytest tests/training "$@"
