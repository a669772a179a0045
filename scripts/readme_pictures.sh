#!/usr/bin/env bash
# The README's pictures, from the demo's renders (run scripts/demo.sh first): copies into docs/images/
#   preview.gif  out/demo/preview.gif on one shared 64-colour palette without dithering (the
#                noisy Cycles frames make a full-colour GIF about six times larger)
#   frame.png    out/demo/frames/frame_0112.png, the three heads during "five"
#   curves.png   out/demo/curves.png
# and fails when they add up to more than 2 MiB (they are committed; the zips leave docs/ out).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f out/demo/preview.gif ]; then
    echo "readme_pictures: no out/demo/preview.gif: run scripts/demo.sh first" >&2
    exit 1
fi
mkdir -p docs/images
.venv/bpy-5.0/bin/python - <<'EOF'
import shutil
from pathlib import Path

from PIL import Image  # comes with matplotlib in the project's environments

DEMO, IMAGES = Path("out/demo"), Path("docs/images")
GIF_COLOURS = 64
FRAME = DEMO / "frames" / "frame_0112.png"
MAX_BYTES = 2 * 1024 * 1024

gif = Image.open(DEMO / "preview.gif")
frames = []
for index in range(gif.n_frames):
    gif.seek(index)
    frames.append(gif.convert("RGB"))
duration = gif.info["duration"]
width, height = frames[0].size
sheet = Image.new("RGB", (width, height * len(frames)))   # one palette from every frame's colours
for index, frame in enumerate(frames):
    sheet.paste(frame, (0, index * height))
palette = sheet.quantize(colors=GIF_COLOURS, dither=Image.Dither.NONE)
reduced = [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
reduced[0].save(IMAGES / "preview.gif", save_all=True, append_images=reduced[1:], loop=0,
                duration=duration, optimize=True)
shutil.copyfile(FRAME, IMAGES / "frame.png")
shutil.copyfile(DEMO / "curves.png", IMAGES / "curves.png")

written = [IMAGES / name for name in ("preview.gif", "frame.png", "curves.png")]
total = sum(path.stat().st_size for path in written)
for path in written:
    print(f"readme_pictures: {path} {path.stat().st_size / 1024:.0f} KiB")
print(f"readme_pictures: {total / 1024:.0f} KiB in all")
if total > MAX_BYTES:
    raise SystemExit(f"readme_pictures: {total} bytes is more than {MAX_BYTES}: pick fewer or smaller pictures")
EOF
