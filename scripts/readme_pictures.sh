#!/usr/bin/env bash
# The README's pictures, from the demo's renders (run scripts/demo.sh first): copies into docs/images/
#   preview.png    out/demo/preview.png, the three heads at 1280x720 during "five" (frame 112)
#   closeup.png    out/demo/closeup.png, the phonetic head's mouth, teeth and tongue during "five"
#   bilabials.png  out/demo/bilabials.png, the three mouths at each bilabial of the line
#   preview.gif    out/demo/preview.gif on one shared 64-colour palette without dithering (a
#                  full-colour GIF is several times larger)
#   curves.png     out/demo/curves.png
# The PNGs are stored with an adaptive 256-colour palette (the denoised renders have smooth shading,
# which that keeps), and it fails when they add up to more than 3 MiB (they are committed; the zips
# leave docs/ out).
set -euo pipefail
cd "$(dirname "$0")/.."
for picture in preview.gif preview.png closeup.png bilabials.png curves.png; do
    if [ ! -f "out/demo/$picture" ]; then
        echo "readme_pictures: no out/demo/$picture: run scripts/demo.sh first" >&2
        exit 1
    fi
done
mkdir -p docs/images
rm -f docs/images/frame.png  # the old still (a frame of the GIF), replaced by preview.png
.venv/bpy-5.0/bin/python - <<'EOF'
from pathlib import Path

from PIL import Image  # comes with matplotlib in the project's environments

DEMO, IMAGES = Path("out/demo"), Path("docs/images")
GIF_COLOURS = 64
PNG_COLOURS = 256
STILLS = ("preview.png", "closeup.png", "bilabials.png", "curves.png")
MAX_BYTES = 3 * 1024 * 1024

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
for name in STILLS:
    still = Image.open(DEMO / name).convert("RGB")
    still.quantize(colors=PNG_COLOURS, dither=Image.Dither.FLOYDSTEINBERG).save(IMAGES / name, optimize=True)

written = [IMAGES / name for name in ("preview.gif", *STILLS)]
total = sum(path.stat().st_size for path in written)
for path in written:
    print(f"readme_pictures: {path} {path.stat().st_size / 1024:.0f} KiB")
print(f"readme_pictures: {total / 1024:.0f} KiB in all")
if total > MAX_BYTES:
    raise SystemExit(f"readme_pictures: {total} bytes is more than {MAX_BYTES}: pick fewer or smaller pictures")
EOF
