"""Real test speech made on the spot with festival (Debian's festival + festvox voices).

`festival_speech` returns 16 kHz float32 samples and festival's exact word timings; tests skip,
with the reason, when festival is not installed (scripts/setup.sh installs it).
"""

import shutil
import subprocess
import wave

import numpy as np
import pytest

SAMPLE_RATE = 16000
DEFAULT_VOICE = "voice_cmu_us_slt_arctic_hts"


def festival_speech(folder, text, voice=DEFAULT_VOICE, name="speech"):
    """(samples float32 at 16 kHz, [(word, start, end)]) for `text`, saved as `folder/<name>.wav`."""
    if shutil.which("festival") is None:
        pytest.skip("festival is not installed (scripts/setup.sh installs it)")
    wav = folder / f"{name}.wav"
    script = folder / f"{name}.scm"
    script.write_text(
        f"({voice})\n"
        f'(set! utt (utt.synth (Utterance Text "{text}")))\n'
        f"(utt.wave.resample utt {SAMPLE_RATE})\n"
        f"(utt.save.wave utt \"{wav}\" 'riff)\n"
        '(mapcar (lambda (w) (format t "W %s %f %f\\n" (item.name w) (item.feat w \'word_start) '
        "(item.feat w 'word_end))) (utt.relation.items utt 'Word))\n"
    )
    out = subprocess.run(["festival", "-b", str(script)], capture_output=True, text=True, timeout=120)
    if not wav.exists():
        pytest.skip(f"festival could not synthesise with {voice}: {out.stderr[-300:]}")
    words = [(p[1].lower(), float(p[2]), float(p[3])) for p in (line.split() for line in out.stdout.splitlines())
             if len(p) == 4 and p[0] == "W"]
    with wave.open(str(wav)) as handle:
        assert handle.getframerate() == SAMPLE_RATE and handle.getsampwidth() == 2
        samples = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
    return samples, words
