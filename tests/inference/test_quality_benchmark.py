"""benchmarks.quality on a slice of the TIMIT sample: every diffusion seed it draws for the
takes' diversity is scored too, so a take that fails the bars shows in the table."""

import re

from benchmarks import quality


def test_every_diversity_seed_gets_its_own_scored_row(shared_data, tmp_path):
    out = tmp_path / "quality"
    assert quality.main(["--shared-data", str(shared_data), "--engines", "diffusion,diffusion1", "--limit", "3",
                         "--diversity-seeds", "4", "--plots", "0", "--out", str(out)]) == 0
    table = (out / "quality.md").read_text()
    rows = {int(found[1]): line for line in table.splitlines()
            if (found := re.match(r"\| diffusion model seed (\d+),", line))}
    assert sorted(rows) == [0, 1, 2, 3]
    for line in rows.values():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[1] == "3"                                    # n: the three utterances
        assert 0.0 <= float(cells[3]) <= 100.0                    # BIL40 is a percentage
    assert rows[2] != rows[3]                                      # two seeds, two takes
    assert re.search(r"seeds 0\.\.3: .* all 6 pairs 0\.\d{3}", table)


def test_rounding_is_pooled_per_speaker_and_a_speaker_without_rounded_vowels_is_left_out():
    from benchmarks.lipmetrics import UtteranceScore
    scores = [UtteranceScore(round_hits=1, round_n=2, rfa_hits=0, rfa_n=4),
              UtteranceScore(round_hits=2, round_n=2, rfa_hits=1, rfa_n=4),
              UtteranceScore(round_hits=0, round_n=0, rfa_hits=1, rfa_n=3)]
    assert quality.speaker_rounding(scores, ["a", "a", "b"]) == {"a": (75.0, 12.5)}
