"""benchmarks.commands on a few of Speech Commands' held-out speakers: the split keeps them out of
training, and each engine's row counts the bilabial words it scored."""

import re

from benchmarks import commands
from training import corpus


def test_held_out_speakers_are_never_in_the_training_jobs(shared_data):
    held = commands.held_out_clips(shared_data)
    trained = corpus.real_jobs(shared_data)["speech_commands"]
    assert held and trained
    assert not {speaker for _, _, speaker in held} & {speaker for _, _, speaker in trained}
    everyone = {speaker for _, _, speaker in corpus.speech_commands_clips(shared_data)}
    share = len({speaker for _, _, speaker in held}) / len(everyone)
    assert 0.08 < share < 0.18                                    # about one speaker in eight


def test_the_table_scores_bilabial_words_aligned_to_their_transcript(shared_data, tmp_path):
    out = tmp_path / "commands"
    assert commands.main(["--shared-data", str(shared_data), "--engines", "amplitude,regression", "--limit", "4",
                          "--out", str(out)]) == 0
    table = (out / "commands.md").read_text()
    assert re.search(r"\(4 bilabial words from \d+ speakers;", table)
    rows = re.findall(r"^\| (.+?) \| ([\d.]+) \((\d+)/(\d+)\) \| ([\d.]+) \|$", table, re.MULTILINE)
    assert [name for name, *_ in rows] == ["regression model, no transcript", "amplitude (RMS -> jawOpen)"]
    for _, percent, hits, total, _ in rows:
        assert int(total) >= 4 and 0 <= int(hits) <= int(total)
        assert float(percent) == round(100 * int(hits) / int(total), 1)
