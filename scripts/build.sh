#!/usr/bin/env bash
# The build command: sets up the Blender 5.0 environment (scripts/setup.sh), then builds and validates
# one extension zip per platform into dist/ (scripts/build.py; extra arguments go to it, e.g.
# --platform linux-x64).
set -euo pipefail
cd "$(dirname "$0")/.."
LIPKIT_BLENDER_VERSIONS="5.0" LIPKIT_SKIP_TRAINING_ENV=1 LIPKIT_SKIP_PROVIDER_ENVS=1 bash scripts/setup.sh
.venv/bpy-5.0/bin/python scripts/build.py "$@"
