"""Generation in real Blender: following a sound strip (start, trims, fps_base), from a file, the
modal job's cancel, and bad input reported with nothing lost."""

import shutil

import pytest

from bpy_helpers import bpy, build_reference_face, link_mesh_from_library, make_active, make_mesh, submodule
from lipsync_helpers import (LINE, best_lag, column, frame_rms, generate, mapped_head, need_strips, setup_scene,
                             showing, take_values, use_sound)


def _lag_to_audio(head, first_frame: int, skip_seconds: float = 0.0):
    """How many frames the take's mouth lags the heard audio (jawOpen against per-frame loudness)."""
    audio = submodule("inference.audio").load_audio(LINE)
    fps = submodule("animation.takes").scene_fps(bpy.context.scene)
    frames, values = take_values(head)
    assert frames[0] == first_frame
    samples = audio.samples[int(round(skip_seconds * audio.sample_rate)):]
    loudness = frame_rms(samples, audio.sample_rate, fps, len(frames))
    return best_lag(loudness, values[:, column("jawOpen")])


def test_strip_at_frame_101_in_a_2997_scene(addon, shared_data):
    need_strips()
    scene = setup_scene()
    head = build_reference_face(shared_data)
    bpy.ops.lipkit.mapping_detect()
    use_sound(scene, 101)
    generate(scene, engine="phonetic", layers=("lips",))
    assert abs(_lag_to_audio(head, 101)) <= 1
    info = submodule("animation.takes").take_info(showing(head))
    assert info["fps"] == pytest.approx(30000 / 1001) and info["frame_start"] == 101


def test_a_file_at_frame_101_lines_up_too(addon, shared_data):
    """The same bar where Blender cannot add strips (a file followed from its frame) or can."""
    scene = setup_scene()
    head = build_reference_face(shared_data)
    bpy.ops.lipkit.mapping_detect()
    use_sound(scene, 101, strip=False)
    generate(scene, engine="regression", layers=("lips",))
    assert abs(_lag_to_audio(head, 101)) <= 1
    assert len(head.lipkit.takes) == 1


def test_a_trimmed_strip_starts_where_it_is_heard(addon):
    need_strips()
    scene = setup_scene()
    head = mapped_head()
    strip = use_sound(scene, 101)
    strip.frame_offset_start = 15
    generate(scene)
    assert abs(_lag_to_audio(head, 116, skip_seconds=15 / (30000 / 1001))) <= 1
    frames, _ = take_values(head)
    assert frames[-1] == strip.frame_final_end - 1


def test_cancelled_generation_writes_nothing(addon):
    jobs = submodule("operators.jobs")
    generation = submodule("inference.generation")
    errors = submodule("inference.errors")
    audio = submodule("inference.audio").load_audio(LINE)
    head = mapped_head()
    before = set(bpy.data.actions.keys())
    request = generation.Request("regression", 30.0, layers=("lips", "blinks"))
    job = jobs.Job(lambda progress, cancel: generation.run(audio, request, progress, cancel))
    job.cancel()
    job.start().wait()
    assert job.done
    with pytest.raises(errors.CancelledError, match="nothing was written"):
        job.result()
    assert set(bpy.data.actions.keys()) == before and len(head.lipkit.takes) == 0


def test_a_finished_job_hands_back_its_result(addon):
    jobs = submodule("operators.jobs")
    generation = submodule("inference.generation")
    audio = submodule("inference.audio").load_audio(LINE)
    seen = []
    job = jobs.Job(lambda progress, cancel: generation.run(
        audio, generation.Request("regression", 30.0, layers=("lips",)),
        lambda done, total: (seen.append(done / total), progress(done, total)), cancel)).start()
    job.wait()
    assert job.result().curves.num_frames == 124 and job.fraction == 1.0 and seen[-1] == 1.0


def _refused(match):
    before = set(bpy.data.actions.keys())
    with pytest.raises(RuntimeError, match=match):
        bpy.ops.lipkit.generate()
    assert set(bpy.data.actions.keys()) == before


def test_missing_muted_and_unpicked_sounds_are_reported(addon, tmp_path):
    scene = setup_scene()
    mapped_head()
    _refused("no sound picked")
    scene.lipkit.sound_source = "FILE"
    scene.lipkit.sound_file = str(tmp_path / "gone.wav")
    _refused("gone.wav is missing")
    if bpy.app.build_options.audaspace:
        copy = tmp_path / "copy.wav"
        shutil.copy(LINE, copy)
        strip = use_sound(scene, 1, path=copy)
        strip.mute = True
        _refused("is muted")
        strip.mute = False
        copy.unlink()
        _refused("copy.wav is missing")


def test_object_without_mapping_and_linked_data_are_reported(addon, tmp_path):
    scene = setup_scene()
    make_active(make_mesh("Unmapped", ["jawOpen"]))
    use_sound(scene, 1, strip=False)
    _refused("no mapping yet")
    link_mesh_from_library(tmp_path, "LinkedHead")
    use_sound(bpy.context.scene, 1, strip=False)
    _refused("linked from")


def test_transcript_file_feeds_the_phonetic_engine(addon, tmp_path):
    scene = setup_scene()
    head = mapped_head()
    use_sound(scene, 1, strip=False)
    scene.lipkit.transcript_file = str(LINE.with_suffix(".txt"))
    generate(scene, engine="phonetic")
    _, values = take_values(head)
    assert values[:, column("jawOpen")].max() > 0.2
    scene.lipkit.transcript_file = str(tmp_path / "none.txt")
    _refused("cannot read the transcript file")


def test_the_recognition_setting_reaches_the_phonetic_engine(addon):
    """Without a transcript the panel's Recognition picks how phones are found: each mode gives its own
    take, and the same mode the same take again."""
    scene = setup_scene()
    head = mapped_head()
    use_sound(scene, 1, strip=False)
    mouth = [column(name) for name in ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker")]
    takes = {}
    for mode in ("phones", "words", "phones"):
        scene.lipkit.recognition = mode
        generate(scene, engine="phonetic")
        _, values = take_values(head)
        if mode in takes:
            assert abs(values[:, mouth] - takes[mode]).max() < 1e-6
        takes[mode] = values[:, mouth]
    assert abs(takes["words"] - takes["phones"]).max() > 0.05


def test_the_voice_setting_reaches_the_models(addon):
    """The panel's Voice: Automatic hears the demo's line (a woman's voice) lower, As Recorded as it is;
    each gives its own take, and the same setting the same take again."""
    scene = setup_scene()
    head = mapped_head()
    use_sound(scene, 1, strip=False)
    assert scene.lipkit.voice == "auto"
    takes = {}
    for mode in ("off", "auto", "off"):
        scene.lipkit.voice = mode
        generate(scene, engine="regression")
        _, values = take_values(head)
        assert (submodule("animation.takes").take_info(showing(head))["voice_scale"] < 0.99) == (mode == "auto")
        if mode in takes:
            assert abs(values - takes[mode]).max() < 1e-6
        takes[mode] = values
    assert abs(takes["auto"] - takes["off"]).max() > 0.01


def test_emotion_sliders_are_animatable_and_change_over_time(addon):
    scene = setup_scene((30, 1.0))
    head = mapped_head()
    use_sound(scene, 1, strip=False)
    scene.lipkit.emotion_happy = 0.0
    scene.keyframe_insert('lipkit.emotion_happy', frame=1)
    scene.lipkit.emotion_happy = 1.0
    scene.keyframe_insert('lipkit.emotion_happy', frame=100)
    generate(scene)
    _, values = take_values(head)
    smile = values[:, column("mouthSmileLeft")]
    assert smile[90:].mean() > smile[:10].mean() + 0.4
