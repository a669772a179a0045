"""The demo: lip-sync the line the project ships (samples/line.wav, made with festival) and show it.

Runs the headless command with the default engine (the bundled regression model), and, to compare,
the diffusion model and the phonetic engine with the transcript. Writes to out/demo/: curves (JSON
and Live Link Face CSV) per engine, and curves.png, the mouth and eye channels of the regression
model over time against the aligned phones. Run it through scripts/demo.sh (which sets up).
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

SAMPLE = REPO_ROOT / "samples" / "line.wav"
TRANSCRIPT = SAMPLE.with_suffix(".txt")
PLOTTED = ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "mouthRollLower", "mouthSmileLeft",
           "eyeBlinkLeft", "browInnerUp")


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
    line = TRANSCRIPT.read_text(encoding="utf-8").strip()
    regression = headless(SAMPLE, out / "regression", "--emotion", "happy=0.3")
    headless(SAMPLE, out / "diffusion", "--engine", "diffusion", "--seed", "1")
    headless(SAMPLE, out / "phonetic", "--engine", "phonetic", "--transcript", str(TRANSCRIPT))
    phones = phonetic.find_phones(load_audio(SAMPLE), line)[0]
    plot(regression, phones, out / "curves.png", f'"{line}" (regression model, happy 0.3)')
    folders = ", ".join(str((out / name).relative_to(REPO_ROOT)) for name in ("regression", "diffusion", "phonetic"))
    print(f"demo: {SAMPLE.relative_to(REPO_ROOT)} lip-synced; curves in {folders}; "
          f"plot {(out / 'curves.png').relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
