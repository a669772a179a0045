"""Shot lists: every line of dialogue of a scene or an episode as rows of a CSV or JSON file.

Columns (CSV header names, JSON keys; case and spaces do not matter, `audio path` = `audio`):
shot, audio, character, start_frame, engine, seed, emotion, transcript, take. Only `shot` and
`audio` are required. Rows are numbered the way a person finds them: in a CSV the header is row 1
and the first shot row 2; in JSON (a list of objects, or {"shots": [...]}) the first shot is row 1.

Every row is checked before anything runs. A broken row (missing audio, an unknown engine or
character, a duplicate shot name, a path outside the project folder, a seed or start frame outside
`limits`, a bad emotion mix) becomes a `RowError` with its row number; the other rows still make a
`Shot`. Problems with the file itself (unreadable, over `MAX_SHOT_LIST_BYTES`, not CSV/JSON, JSON
nested too deep, a CSV field over 128 KiB, an unknown column) are a `ShotListError`.

Relative audio paths resolve against the project folder (the .blend's folder in Blender, the shot
list's folder without Blender), and must stay inside it. Shot names become output file names, so
they cannot hold path separators: nothing is ever written outside the chosen output folder. Names
that would collide on Windows or macOS (differing only in case, reserved device names, a trailing
dot, the report's name) are refused too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import files, limits
from .emotion import parse_emotion_mix
from .errors import LipkitError
from .generation import ENGINES

COLUMNS = ("shot", "audio", "character", "start_frame", "engine", "seed", "emotion", "transcript", "take")
REQUIRED = ("shot", "audio")
ALIASES = {"audio_path": "audio", "emotion_mix": "emotion", "take_name": "take", "start": "start_frame"}
DEFAULT_ENGINE = "regression"
DEFAULT_START_FRAME = 1
CSV_FIRST_ROW = 2   # the header is row 1
JSON_FIRST_ROW = 1
FORBIDDEN_NAME_CHARACTERS = set('/\\:*?"<>|') | {chr(code) for code in range(32)}
# Windows refuses these as file names, with any extension and in any case ("con.txt", "Nul").
RESERVED_NAME = re.compile(r"^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(\..*)?$", re.IGNORECASE)
# Names of the files a batch writes beside the shots (the report), which a shot must not take.
TAKEN_NAMES = ("batch-report",)
MAX_NAME_LENGTH = 120
MAX_SHOT_LIST_BYTES = 16 << 20


class ShotListError(LipkitError):
    """A shot list file that cannot be read at all (not a row problem)."""


@dataclass(frozen=True)
class Shot:
    """One valid row: a line of dialogue to lip-sync."""

    row: int
    name: str
    audio: Path
    character: str = ""
    start_frame: int = DEFAULT_START_FRAME
    engine: str = DEFAULT_ENGINE
    seed: int = 0
    emotion: dict = field(default_factory=dict)
    transcript: str = ""
    take: str = ""

    @property
    def take_name(self) -> str:
        return self.take or self.name


@dataclass(frozen=True)
class RowError:
    """A row that will not run, and why."""

    row: int
    shot: str
    message: str


@dataclass(frozen=True)
class ShotList:
    shots: tuple[Shot, ...]
    errors: tuple[RowError, ...]


def column_name(header: str) -> str:
    """'Start Frame' -> 'start_frame'; 'audio path' -> 'audio'."""
    name = "_".join(str(header).strip().lower().replace("-", " ").split())
    return ALIASES.get(name, name)


def read_records(path: Path) -> list[tuple[int, dict]]:
    """(row number, {column: value}) for each row of a .csv or .json shot list."""
    path = Path(path)
    try:
        text = files.read_text(path, MAX_SHOT_LIST_BYTES, "shot list")
    except ValueError as exc:
        raise ShotListError(str(exc)) from exc
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return csv_records(text, path.name)
    if suffix == ".json":
        return json_records(text, path.name)
    raise ShotListError(f"{path.name}: a shot list must be a .csv or .json file")


def _check_columns(names, label: str) -> None:
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise ShotListError(f"{label}: unknown column(s) {', '.join(map(repr, unknown))}; "
                            f"the columns are {', '.join(COLUMNS)}")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise ShotListError(f"{label}: the required column(s) {', '.join(missing)} are missing")


def csv_records(text: str, label: str = "shot list") -> list[tuple[int, dict]]:
    try:
        rows = files.csv_rows(text, label)
    except ValueError as exc:
        raise ShotListError(str(exc)) from exc
    if not rows:
        raise ShotListError(f"{label} is empty: it needs a header row ({', '.join(COLUMNS)})")
    header = [column_name(name) for name in rows[0]]
    _check_columns([name for name in header if name], label)
    records = []
    for number, cells in enumerate(rows[1:], start=CSV_FIRST_ROW):
        if not any(cell.strip() for cell in cells):
            continue
        records.append((number, {name: cell for name, cell in zip(header, cells) if name}))
    return records


def json_records(text: str, label: str = "shot list") -> list[tuple[int, dict]]:
    try:
        document = files.parse_json(text, label)
    except ValueError as exc:
        raise ShotListError(str(exc)) from exc
    rows = document.get("shots") if isinstance(document, dict) else document
    if not isinstance(rows, list):
        raise ShotListError(f'{label}: expected a list of shots, or {{"shots": [...]}}')
    records = []
    for number, row in enumerate(rows, start=JSON_FIRST_ROW):
        record = {column_name(key): value for key, value in row.items()} if isinstance(row, dict) else row
        records.append((number, record))
    return records


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _integer(value, what: str, default: int, low: int, high: int) -> int:
    """A whole number within [low, high] from a cell or a JSON value; `default` when empty."""
    if value is None or _text(value) == "":
        return default
    if isinstance(value, str):
        value = _text(value)
        try:
            value = int(value)
        except ValueError:
            raise ValueError(f"{what} must be a whole number, got {value!r}") from None
    return limits.check_int(value, low, high, what)


def check_name(name: str) -> str:
    """A shot name usable as a file name in the output folder on every system; ValueError otherwise.

    Refused: path characters, a leading dot, a trailing dot or space (Windows drops them), Windows'
    reserved device names (`CON`, `nul.txt`, `COM1`), the report's name, and names over
    `MAX_NAME_LENGTH` characters. Names that differ only in case collide too: see `name_key`.
    """
    if not name:
        raise ValueError("the shot has no name")
    bad = sorted(set(name) & FORBIDDEN_NAME_CHARACTERS)
    problem = ""
    if bad:
        problem = " ".join(repr(char) for char in bad)
    elif name.startswith("."):
        problem = "a leading dot"
    elif name.endswith((".", " ")):
        problem = "a trailing dot or space, which Windows drops"
    elif RESERVED_NAME.match(name):
        problem = "a name Windows reserves for a device"
    elif name.casefold() in TAKEN_NAMES:
        problem = "the name of the batch report"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"longer than {MAX_NAME_LENGTH} characters"
    if problem:
        shown = name if len(name) <= MAX_NAME_LENGTH else name[:40] + "..."
        raise ValueError(f"shot name {shown!r} cannot be a file name ({problem}): "
                         "use letters, digits, spaces, '-' and '_'")
    return name


def name_key(name: str) -> str:
    """What two shot names must not share: Windows and macOS file names ignore case."""
    return name.casefold()


def emotion_mix(value) -> dict[str, float]:
    """An emotion mix from 'happy=0.6, sad=0.2' or a JSON object {"happy": 0.6}."""
    if isinstance(value, dict):
        return parse_emotion_mix(",".join(f"{name}={intensity}" for name, intensity in value.items()))
    return parse_emotion_mix(_text(value))


def inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def resolve_audio(value, project: Path) -> Path:
    """The audio file of a row, resolved against the project folder and kept inside it."""
    text = _text(value)
    if not text:
        raise ValueError("no audio path")
    path = Path(text).expanduser()
    path = (path if path.is_absolute() else project / path).resolve()
    if not inside(path, project):
        raise ValueError(f"audio {text!r} is outside the project folder {project}: "
                         "shot lists may only use files inside it")
    if not path.is_file():
        raise ValueError(f"audio file {text!r} is missing ({path})")
    return path


def check_record(number: int, record, project: Path, characters=None) -> Shot:
    """One row as a `Shot`; ValueError with the first problem found. `characters`: known names, or None."""
    if not isinstance(record, dict):
        raise ValueError("a shot must be an object with named fields")
    unknown = [name for name in record if name not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))}")
    for column, value in record.items():
        if column != "emotion" and isinstance(value, (list, dict)):
            raise ValueError(f"{column} must be text or a number, not a JSON {type(value).__name__}")
    name = check_name(_text(record.get("shot")))
    engine = _text(record.get("engine")) or DEFAULT_ENGINE
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    seed = _integer(record.get("seed"), "seed", 0, limits.MIN_SEED, limits.MAX_SEED)
    start_frame = _integer(record.get("start_frame"), "start frame", DEFAULT_START_FRAME,
                           limits.MIN_FRAME, limits.MAX_FRAME)
    character = _text(record.get("character"))
    if characters is not None and character not in characters:
        raise ValueError(f"unknown character {character!r}: no object or collection of that name"
                         if character else "no character: name the object or collection to animate")
    return Shot(number, name, resolve_audio(record.get("audio"), project), character, start_frame, engine, seed,
                emotion_mix(record.get("emotion")), _text(record.get("transcript")), _text(record.get("take")))


def validate(records, project: Path, characters=None) -> ShotList:
    """Every row checked: valid rows as `Shot`s, the others as `RowError`s (duplicates included)."""
    shots, errors, first_row = [], [], {}
    for number, record in records:
        label = _text(record.get("shot")) if isinstance(record, dict) else ""
        try:
            shot = check_record(number, record, Path(project), characters)
        except (ValueError, OSError) as exc:   # OSError: a path the system cannot even look up
            errors.append(RowError(number, label, str(exc)))
            continue
        key = name_key(shot.name)
        if key in first_row:
            first, first_name = first_row[key]
            same = "" if first_name == shot.name else f" as {first_name!r}: names differing only in case collide"
            errors.append(RowError(number, shot.name, f"duplicate shot name {shot.name!r} "
                                                      f"(first on row {first}{same})"))
            continue
        first_row[key] = (number, shot.name)
        shots.append(shot)
    return ShotList(tuple(shots), tuple(errors))


def load_shot_list(path, project=None, characters=None) -> ShotList:
    """A shot list file, checked row by row; `project` defaults to the file's folder."""
    path = Path(path)
    records = read_records(path)
    return validate(records, Path(project) if project is not None else path.resolve().parent, characters)


def output_path(folder: Path, shot: str, suffix: str) -> Path:
    """`folder/<shot><suffix>`, refused (ValueError) unless it lies inside `folder`."""
    path = Path(folder) / f"{check_name(shot)}{suffix}"
    if path.resolve().parent != Path(folder).resolve():
        raise ValueError(f"shot {shot!r} would write outside the output folder {folder}")
    return path
