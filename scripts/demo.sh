#!/usr/bin/env bash
# The demo command: sets up what it needs (scripts/setup.sh), then lip-syncs a line made with
# festival through the headless command and plots the result (out/demo/curves.png).
set -euo pipefail
cd "$(dirname "$0")/.."
LIPKIT_BLENDER_VERSIONS="5.0" LIPKIT_SKIP_TRAINING_ENV=1 LIPKIT_SKIP_PROVIDER_ENVS=1 bash scripts/setup.sh
.venv/bpy-5.0/bin/python scripts/demo.py
