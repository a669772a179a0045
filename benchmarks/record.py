"""Measured figures written into the shipped models' sidecars (weights/<model>.json) by the
benchmark that measured them (`--record`), so a sidecar's quality and speed always come from a
command in the repository: each section names that command and the date of the run.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


def record(model: str, section: str, command: str, values: dict, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """Replace `section` of `<weights_dir>/<model>.json` by `values`, with `command` and today's date."""
    path = weights_dir / f"{model}.json"
    data = json.loads(path.read_text())
    data[section] = {"command": command, "date": datetime.date.today().isoformat(), **values}
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path
