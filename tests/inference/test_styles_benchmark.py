"""benchmarks.styles: each entry of a take's style scored alone at the ends it is asked for, and
the corners of the shipped take bands, on a slice of the TIMIT sample."""

import numpy as np

from benchmarks import styles
from inference import models


def test_each_entry_is_scored_alone_at_both_ends_beside_the_average_take():
    rows = styles.styles_to_score(["jaw", "side"], (0.5, 1.0))
    assert [name for name, _ in rows] == ["average take", "jaw -1", "jaw -0.5", "jaw +0.5", "jaw +1",
                                          "side -1", "side -0.5", "side +0.5", "side +1"]
    for name, style in rows[1:]:
        assert np.count_nonzero(style) == 1 and style.max(initial=0) + style.min(initial=0) == float(name.split()[1])


def test_the_corners_are_the_biggest_and_smallest_takes_a_seed_can_draw(shipped_weights):
    from inference import neural
    model = models.load_model("diffusion")
    bands = models.take_bands(model.sidecar)
    _, top, bottom = (style for _, style in styles.band_corners(bands))
    drawn = np.array([neural.take_style(model, seed) for seed in range(200)])
    assert (drawn <= top + 1e-6).all() and (drawn >= bottom - 1e-6).all()
    assert (drawn.max(axis=0) > top - 0.1).all() and (drawn.min(axis=0) < bottom + 0.1).all()


def test_a_run_prints_one_row_per_style(shared_data, capsys):
    assert styles.main(["--shared-data", str(shared_data), "--limit", "2", "--at", "1"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    names = models.load_model("diffusion").sidecar["style"]["names"]
    assert len(lines) == 1 + 1 + 2 * len(names)                   # header, average take, each entry at -1 and +1
    average, *entries = (line.strip("|").split("|") for line in lines[1:])
    assert float(average[-1]) == 0.0                              # the average take against itself
    side = [cells for cells in entries if cells[0].strip().startswith("side")]
    assert all(float(cells[-1]) > 0.005 for cells in side)       # talking out of one side is another take
