"""The demo head and the demo scene show what they claim, measured on the meshes.

The head (scripts/head.py) on its own: its lips meet whenever mouthClose cancels jawOpen, part when
the jaw opens alone, and its lids cover the eyes at a full blink. The demo scene, built as
scripts/demo.py builds it (three heads given takes by Lipkit's operators from the sample line, not
rendered): at every bilabial of the line, aligned to its transcript, the phonetic head's lips meet;
at the blink the lids of every head cover its eyes, and they are open when it does not blink.
"""

import importlib.util
import sys

import pytest
from bpy_helpers import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts"
TOUCH = 0.0  # head radii: the lips (or lids) meet when the gap is at most this (they press in at rest)
OPEN_LIPS = 0.05  # head radii: clearly parted
BLINK_COVERED = 0.85  # eyeBlink from which the head's lids cover the eye (the lids overlap by 10 degrees)
EYE_OPEN_BLINK = 0.05  # eyeBlink at most this: the eye is open


def load_script(name: str):
    """A module of scripts/ (they import each other by plain name, as the demo runs them)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(f"lipkit_{name}_script", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def head_script():
    return load_script("head")


def pose(head, **weights):
    """Set these shape keys on the head and every mesh under it (others to 0); the depsgraph."""
    import bpy
    for obj in [head, *head.children]:
        for block in obj.data.shape_keys.key_blocks[1:]:
            block.value = weights.get(block.name, 0.0)
    return bpy.context.evaluated_depsgraph_get()


def test_the_head_has_every_arkit_key_and_lips_that_meet_when_mouth_close_cancels_the_jaw(addon, head_script):
    from inference import arkit
    face = head_script.add_head("Face", (0.0, 0.0, 0.0))
    assert [block.name for block in face.data.shape_keys.key_blocks[1:]] == list(arkit.NAMES)
    parts = {child.name.removeprefix("Face ") for child in face.children}
    assert parts == {"lips", "teeth", "tongue", "eyes", "lids", "brows"}
    mouth, left, right = head_script.mouth_and_eyes(face, pose(face))
    assert mouth <= TOUCH and left > 0.05 and right > 0.05  # at rest: lips closed, eyes open
    for jaw in (0.1, 0.3, 0.6):
        assert head_script.mouth_and_eyes(face, pose(face, jawOpen=jaw))[0] > OPEN_LIPS * jaw / 0.1 * 0.5
        assert head_script.mouth_and_eyes(face, pose(face, jawOpen=jaw, mouthClose=jaw))[0] <= TOUCH
        # Pressing alone closes a small opening.
        pressed = head_script.mouth_and_eyes(face, pose(face, jawOpen=0.1, mouthPressLeft=1, mouthPressRight=1))
        assert pressed[0] <= TOUCH
    assert head_script.mouth_and_eyes(face, pose(face, jawOpen=0.3, mouthClose=0.3, mouthRollLower=1,
                                                 mouthRollUpper=1))[0] <= TOUCH
    assert head_script.mouth_and_eyes(face, pose(face, mouthFunnel=1))[0] > OPEN_LIPS
    # Lids: closed over the eye from eyeBlink 0.85, one eye at a time; open when looking down.
    _, left, right = head_script.mouth_and_eyes(face, pose(face, eyeBlinkLeft=BLINK_COVERED))
    assert left <= TOUCH and right > 0.05
    _, left, right = head_script.mouth_and_eyes(face, pose(face, eyeBlinkLeft=0.5, eyeBlinkRight=1.0))
    assert left > 0 and right <= TOUCH
    _, down, _ = head_script.mouth_and_eyes(face, pose(face, eyeLookDownLeft=1))
    _, up, _ = head_script.mouth_and_eyes(face, pose(face, eyeLookUpLeft=1))
    assert 0 < down < up


@pytest.fixture(scope="module")
def demo_scene(lipkit):
    """The demo's scene (scene, {engine: head}) and the demo module."""
    from inference.audio import load_audio
    demo = load_script("demo")
    scene, heads = demo.build_scene(load_audio(demo.SAMPLE).duration)
    return demo, scene, heads


def shown(scene, frame: int, heads: dict, head_script) -> dict:
    """{engine: (lip gap, left lid gap, right lid gap)} at scene frame `frame`."""
    import bpy
    scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    return {engine: head_script.mouth_and_eyes(head, depsgraph) for engine, head in heads.items()}


def test_at_every_bilabial_of_the_demo_line_the_phonetic_heads_lips_meet(demo_scene, head_script):
    demo, scene, heads = demo_scene
    line = demo.TRANSCRIPT.read_text(encoding="utf-8").strip()
    bilabials = demo.bilabials(line)
    # "Bob, please move the big blue map. We will be home before five.": b b p m b b m p b m b
    assert [phone for phone, _, _ in bilabials] == list("bbpmbbmpbmb")
    jaw_at_closures = []
    for phone, word, frame in bilabials:
        gaps = shown(scene, frame, heads, head_script)
        assert gaps["phonetic"][0] <= TOUCH, (phone, word, frame, gaps["phonetic"])
        jaw_at_closures.append(heads["phonetic"].data.shape_keys.key_blocks["jawOpen"].value)
    # The jaw is not shut at every closure: there the lips meet because mouthClose cancels it.
    assert max(jaw_at_closures) > 0.05
    # Between the closures the lips part: on the open vowel of "five" the mouth is open.
    assert shown(scene, demo.PREVIEW_FRAME, heads, head_script)["phonetic"][0] > OPEN_LIPS


def test_at_the_blink_of_the_demo_the_lids_cover_the_eyes(demo_scene, head_script):
    demo, scene, heads = demo_scene
    closed = opened = 0
    for frame in range(scene.frame_start, scene.frame_end + 1):
        gaps = shown(scene, frame, heads, head_script)
        for engine, head in heads.items():
            blocks = head.data.shape_keys.key_blocks
            for side, lids in zip(("Left", "Right"), gaps[engine][1:]):
                blink = blocks[f"eyeBlink{side}"].value
                if blink >= BLINK_COVERED:
                    assert lids <= TOUCH, (engine, frame, side, blink, lids)
                    closed += 1
                elif blink <= EYE_OPEN_BLINK:
                    assert lids > 0.05, (engine, frame, side, blink, lids)
                    opened += 1
    assert closed >= 3 * 2  # the demo's seed blinks fully once: both eyes of three heads
    assert opened > closed
