"""Build the Lipkit extension zips, one per platform (two for Linux), with Blender's own builder and validator.

Each zip carries the add-on, the weights with their sidecars, the speech-embedding front-end
(weights/speech_embedding/, fetched and sha256-checked by scripts/fetch_frontend.py, which the
build runs first), and the Python wheels Lipkit imports at run time: pocketsphinx and the build of
onnxruntime that reaches the platform's GPUs (`VARIANTS`), for every Python a supported Blender
runs (cp311: Blender 4.2-5.0; cp313: Blender 5.1+). Blender installs only the wheels matching its
Python and platform. Never numpy (Blender ships it), and none of the packages' other declared
dependencies: the add-on never imports them (flatbuffers, protobuf and packaging serve
onnxruntime's tooling, sounddevice pocketsphinx's live microphone).

- windows-x64: `onnxruntime-directml` (DirectML: any DirectX 12 GPU, and the CPU), pinned in
  requirements/windows.txt: its last release on PyPI is older than the onnxruntime pin.
- macos-arm64: `onnxruntime`, whose macOS build has CoreML.
- linux-x64: `onnxruntime` (the CPU), and linux-x64-cuda: `onnxruntime-gpu` (CUDA; the CUDA and
  cuDNN runtime libraries come from the system), pinned in requirements/ort-gpu.txt, as
  `lipkit-<version>-linux_x64_cuda.zip`. Both zips are for Blender's linux-x64 platform and the
  same extension id: install one of them.

Steps: wheels are fetched from the package index with `pip download --only-binary=:all:` into
build/wheels/<variant>/ (kept between builds); per variant the tree is copied to a temporary folder
with a manifest that lists the wheels and the platform; `blender_ext.py build --split-platforms`
writes the zip, moved to dist/lipkit-<version>-<platform>[_cuda].zip; `blender_ext.py validate`
checks each zip. Run through scripts/build.sh (which sets up), or
`.venv/bpy-5.0/bin/python scripts/build.py [--platform linux-x64 ...] [--out DIR]`.
"""

import argparse
import importlib.util
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import fetch_frontend  # beside this script (its folder is on sys.path when the script runs)

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "blender_manifest.toml"
REQUIREMENTS = REPO_ROOT / "requirements"
PINS_FILE = REQUIREMENTS / "common.txt"
# Every zip's wheels besides its onnxruntime build, pinned in common.txt.
SHARED_PACKAGES = ("pocketsphinx",)
# Blender platform -> the pip platform tag to download for (pip also accepts older compatible tags).
PLATFORM_TAGS = {
    "linux-x64": "manylinux_2_28_x86_64",
    "windows-x64": "win_amd64",
    "macos-arm64": "macosx_14_0_arm64",
}


class Variant(NamedTuple):
    """One zip: its Blender platform, the onnxruntime package it carries, the requirements file
    pinning that package, and what its file name adds after the platform."""

    platform: str
    runtime: str
    pins: Path
    suffix: str = ""


VARIANTS = {
    "linux-x64": Variant("linux-x64", "onnxruntime", PINS_FILE),
    "linux-x64-cuda": Variant("linux-x64", "onnxruntime-gpu", REQUIREMENTS / "ort-gpu.txt", "_cuda"),
    "windows-x64": Variant("windows-x64", "onnxruntime-directml", REQUIREMENTS / "windows.txt"),
    "macos-arm64": Variant("macos-arm64", "onnxruntime", PINS_FILE),
}
# Python of Blender 4.2-5.0, and of Blender 5.1+.
PYTHON_VERSIONS = ("3.11", "3.13")
# Never in a zip: Blender ships numpy; the rest are not part of the add-on.
FORBIDDEN_IN_ZIP = re.compile(r"(^|/)(numpy[-/_]|training/|tests/|benchmarks/|\.ci/|scripts/|requirements/|docs/)")
# Copied to the stage only to be excluded there again: skip them outright (large or not ours).
NOT_STAGED = (".git", ".venv", "out", "build", "dist", "__pycache__", ".pytest_cache")

log = logging.getLogger("lipkit.build")


def pinned(path: Path, names) -> list[str]:
    """The `name==version` pins of `names` in a requirements file, in the order of `names`."""
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(encoding="utf-8"), re.MULTILINE))
    missing = [name for name in names if name not in pins]
    if missing:
        raise SystemExit(f"build: no pinned version for {', '.join(missing)} in {path}")
    return [f"{name}=={pins[name]}" for name in names]


def variant_pins(variant: Variant) -> list[str]:
    """The `name==version` pins of the wheels a variant's zip carries: its onnxruntime, then pocketsphinx."""
    return pinned(variant.pins, (variant.runtime,)) + pinned(PINS_FILE, SHARED_PACKAGES)


def wheel_name(pin: str) -> str:
    """The distribution name as wheel file names spell it (onnxruntime-gpu -> onnxruntime_gpu)."""
    return pin.split("==")[0].replace("-", "_").lower()


def download_wheels(pins: list[str], platform: str, python: str, cache: Path) -> list[Path]:
    """The binary wheels of `pins` for one Blender platform and Python, downloaded into `cache` if absent."""
    folder = cache / f"py{python}"
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--no-deps", "--only-binary=:all:", "--implementation", "cp",
               "--platform", PLATFORM_TAGS[platform], "--python-version", python, "--dest", str(folder), *pins]
    subprocess.run(command, check=True)
    wheels = sorted(folder.glob("*.whl"))
    names = {wheel.name.split("-")[0].lower() for wheel in wheels}
    if names != {wheel_name(pin) for pin in pins} or len(wheels) != len(pins):
        raise SystemExit(f"build: expected one wheel per package in {folder}, found {[w.name for w in wheels]}")
    return wheels


def manifest_with_wheels(text: str, platforms: list[str], wheels: list[str]) -> str:
    """The manifest text with `platforms` and `wheels` as top-level keys (before its first table)."""
    if re.search(r"^(platforms|wheels)\s*=", text, re.MULTILINE):
        raise SystemExit(f"build: the source {MANIFEST} must not list platforms or wheels; the build adds them")
    table = re.search(r"^\[", text, re.MULTILINE)
    cut = table.start() if table else len(text)
    quoted = lambda items: ", ".join(f'"{item}"' for item in items)  # noqa: E731
    listed = "".join(f'  "{wheel}",\n' for wheel in wheels)
    added = f"platforms = [{quoted(platforms)}]\nwheels = [\n{listed}]\n\n"
    return text[:cut] + added + text[cut:]


def stage(source: Path, target: Path, wheels: dict[str, list[Path]]) -> None:
    """Copy the extension to `target` with (links to) the wheels under wheels/ and a manifest listing them."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*NOT_STAGED), symlinks=False)
    (target / "wheels").mkdir()
    relative = []
    for files in wheels.values():
        for wheel in files:
            (target / "wheels" / wheel.name).symlink_to(wheel)
            relative.append(f"./wheels/{wheel.name}")
    text = (source / MANIFEST).read_text(encoding="utf-8")
    (target / MANIFEST).write_text(manifest_with_wheels(text, list(wheels), sorted(set(relative))), encoding="utf-8")


def blender_ext() -> Path:
    """Blender's extension command line (`blender_ext.py`) from the installed bpy wheel."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("build: needs the bpy wheel (run it with .venv/bpy-5.0/bin/python, see scripts/build.sh)")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise SystemExit("build: blender_ext.py not found in the bpy wheel")
    return found[-1]


def run_blender_ext(*args: str) -> str:
    """Run blender_ext.py; its output, or exit with it when it fails."""
    result = subprocess.run([sys.executable, str(blender_ext()), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"build: blender_ext.py {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def forbidden_entries(zip_path: Path) -> list[str]:
    """Entries of a zip that must never ship (numpy, training, tests, benchmarks, CI, scripts, docs)."""
    with zipfile.ZipFile(zip_path) as archive:
        return [name for name in archive.namelist() if FORBIDDEN_IN_ZIP.search(name)]


def missing_frontend(zip_path: Path) -> list[str]:
    """The front-end files (weights/speech_embedding/...) a zip lacks."""
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    wanted = [f"weights/{fetch_frontend.embedding.FOLDER}/{name}" for name in fetch_frontend.embedding.FILES]
    return [name for name in wanted if not any(entry.endswith(name) for entry in names)]


def build_variant(name: str, out: Path, cache: Path) -> Path:
    """Build the zip of one variant into `out`; its path."""
    variant = VARIANTS[name]
    pins = variant_pins(variant)
    wheels = [wheel for python in PYTHON_VERSIONS
              for wheel in download_wheels(pins, variant.platform, python, cache / name)]
    with tempfile.TemporaryDirectory(prefix="lipkit-stage-") as folder:
        staged, built = Path(folder) / "lipkit", Path(folder) / "zip"
        built.mkdir()
        stage(REPO_ROOT, staged, {variant.platform: wheels})
        log.info(run_blender_ext("build", "--source-dir", str(staged), "--output-dir", str(built), "--split-platforms"))
        (zip_path,) = built.glob("lipkit-*.zip")
        target = out / f"{zip_path.stem}{variant.suffix}.zip"
        shutil.move(zip_path, target)
    return target


def build(variants: list[str], out: Path, cache: Path) -> list[Path]:
    """Build, validate and check one zip per variant into `out`; their paths."""
    fetch_frontend.main([])      # SystemExit with the reason when it is missing and cannot be fetched
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("lipkit-*.zip"):
        old.unlink()
    zips = [build_variant(name, out, cache) for name in variants]
    for zip_path in zips:
        log.info(run_blender_ext("validate", str(zip_path)))
        if bad := forbidden_entries(zip_path):
            raise SystemExit(f"build: {zip_path.name} contains what must not ship: {bad[:5]}")
        if missing := missing_frontend(zip_path):
            raise SystemExit(f"build: {zip_path.name} lacks the speech-embedding front-end: {missing}")
    return zips


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", action="append", choices=sorted(VARIANTS),
                        help="build only this zip (repeatable; default: all)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist", help="folder for the zips (default: dist/)")
    parser.add_argument("--wheel-cache", type=Path, default=REPO_ROOT / "build" / "wheels",
                        help="downloaded wheels, kept between builds (default: build/wheels/)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for zip_path in build(args.platform or list(VARIANTS), args.out.resolve(), args.wheel_cache.resolve()):
        print(f"{zip_path} {zip_path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
