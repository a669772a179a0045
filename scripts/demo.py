"""The demo: lip-sync a line of dialogue made here with festival, and show the result.

Writes to out/demo/: the clip (line.wav), its curves from the phonetic engine with and without the
transcript (JSON, and a Live Link Face CSV), and curves.png, a plot of the mouth and eye channels
over time against the phones. Run it through scripts/demo.sh (which sets up the environment).
"""

import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from inference import phonetic  # noqa: E402
from inference.audio import load_audio  # noqa: E402

LINE = "Bob, please move the big blue map. We will be home before five."
VOICE = "voice_cmu_us_slt_arctic_hts"
PLOTTED = ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "mouthRollLower", "mouthSmileLeft",
           "eyeBlinkLeft", "browInnerUp")


def synthesise(path: Path):
    subprocess.run(["text2wave", "-o", str(path), "-eval", f"({VOICE})"], input=LINE, text=True,
                   check=True, capture_output=True)


def headless(wav: Path, out: Path, *extra):
    """The headless command, exactly as a user runs it."""
    command = [sys.executable, "-m", "inference", str(wav), "--out", str(out), "--format", "llf", *extra]
    subprocess.run(command, cwd=REPO_ROOT, check=True)
    return json.loads((out / f"{wav.stem}.json").read_text())


def plot(document: dict, phones, path: Path, title: str):
    frames = np.asarray(document["frames"])
    times = np.arange(len(frames)) / document["fps"]
    figure, axes = plt.subplots(2, 1, figsize=(12, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for name in PLOTTED:
        axes[0].plot(times, frames[:, document["channels"].index(name)], label=name)
    axes[0].set_ylabel("weight")
    axes[0].set_title(title)
    axes[0].legend(loc="upper right", ncol=4, fontsize=8)
    for phone in phones:
        if phone.phone != "sil":
            axes[1].axvspan(phone.start, phone.end, alpha=0.15, color="tab:blue" if phone.phone in ("p", "b", "m") else "grey")
            axes[1].text((phone.start + phone.end) / 2, 0.5, phone.phone, ha="center", va="center", fontsize=8)
    axes[1].set_yticks([])
    axes[1].set_xlabel("seconds (phones: bilabials in blue)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main():
    out = REPO_ROOT / "out" / "demo"
    out.mkdir(parents=True, exist_ok=True)
    wav = out / "line.wav"
    synthesise(wav)
    transcript = out / "transcript"
    transcript.mkdir(exist_ok=True)
    (transcript / "line.txt").write_text(LINE)
    with_text = headless(wav, out / "with_transcript", "--transcript", str(transcript), "--emotion", "happy=0.3")
    headless(wav, out / "no_transcript")
    phones = phonetic.find_phones(load_audio(wav), LINE)[0]
    plot(with_text, phones, out / "curves.png", f'"{LINE}" (phonetic engine, transcript, happy 0.3)')
    print(f"demo: {wav.relative_to(REPO_ROOT)} lip-synced; curves in {(out / 'with_transcript').relative_to(REPO_ROOT)} "
          f"and {(out / 'no_transcript').relative_to(REPO_ROOT)}; plot {(out / 'curves.png').relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
