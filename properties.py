"""Lipkit's data in Blender: `Object.lipkit` (mapping, meshes, takes, constraints, locks),
`Scene.lipkit` (sound, engine, emotion, layers, range, the batch's shot list), `WindowManager.lipkit`
(the running job) and preferences."""

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty, IntProperty,
                       IntVectorProperty, PointerProperty, StringProperty)

from .inference import arkit, emotion, generation, limits, mapping, phones

FRAME_LIMITS = {"min": limits.MIN_FRAME, "max": limits.MAX_FRAME}
SEED_LIMITS = {"min": limits.MIN_SEED, "max": limits.MAX_SEED}

ENGINE_ITEMS = (
    ("regression", "Regression", "The regression model: one deterministic pass (fast)"),
    ("diffusion", "Diffusion", "The diffusion model: a seeded sample; a new seed gives a new take"),
    ("phonetic", "Phonetic", "Phones (pocketsphinx) and articulation rules; give the transcript for best results"),
)
assert tuple(item[0] for item in ENGINE_ITEMS) == generation.ENGINES
RECOGNITION_ITEMS = (
    ("words", "Words", "Hear the words, then align them: finds far more lip closures (about 5x slower)"),
    ("phones", "Phones", "Recognise phones directly: faster, rougher"),
)
assert tuple(item[0] for item in RECOGNITION_ITEMS) == phones.RECOGNITION_MODES
VOICE_ITEMS = (
    ("auto", "Automatic", "Hear a voice above the model's reference pitch lower: the models round and close "
                          "women's and children's lips better so"),
    ("off", "As Recorded", "Hear every voice as it was recorded"),
)
assert tuple(item[0] for item in VOICE_ITEMS) == generation.VOICE_MODES
REGION_ITEMS = tuple((region, region.title(), f"The {region} channels") for region in arkit.REGIONS)

STATUS_ITEMS = (
    (mapping.MATCHED, "Matched", "Found automatically from the shape-key name", "CHECKMARK", 0),
    (mapping.MISSING, "Missing", "No shape key found for this channel", "X", 1),
    (mapping.AMBIGUOUS, "Ambiguous", "Several shape keys fit: pick one", "QUESTION", 2),
    (mapping.MANUAL, "Manual", "Chosen by hand; kept when detecting again", "GREASEPENCIL", 3),
)


def _on_shape_key_edit(self, _context):
    """An edit in the mapping list is a manual choice; clearing it makes the channel missing.

    Detection sets `status` after `shape_key`, so its own writes end up with the detected status.
    """
    self.status = mapping.MANUAL if self.shape_key else mapping.MISSING


class LIPKIT_PG_channel(bpy.types.PropertyGroup):
    """One ARKit channel and the shape key that drives it."""

    channel: StringProperty(name="Channel", description="ARKit blendshape name")
    shape_key: StringProperty(name="Shape Key", description="Shape key driven by this channel",
                              update=_on_shape_key_edit)
    status: EnumProperty(name="Status", items=STATUS_ITEMS, default=mapping.MISSING)
    candidates: StringProperty(name="Candidates", description="Shape keys that fit equally well")

    @property
    def description(self) -> str:
        return arkit.DESCRIPTIONS.get(self.channel, "")


def _is_mesh(_self, obj) -> bool:
    return obj.type == "MESH"


class LIPKIT_PG_mesh(bpy.types.PropertyGroup):
    """A further mesh of the character (teeth, tongue, lashes) driven by the same mapping."""

    object: PointerProperty(name="Mesh", type=bpy.types.Object, poll=_is_mesh)


class LIPKIT_PG_take(bpy.types.PropertyGroup):
    """A take: an Action written by Lipkit."""

    action: PointerProperty(name="Action", type=bpy.types.Action)
    review_summary: StringProperty(name="Review", description="What the last review of this take found")


def _on_finding_pick(self, context):
    """A click on a finding jumps to its frame and selects its F-curves (operators/review_ops.py)."""
    from .operators import review_ops
    review_ops.show_finding(context, self.id_data)


class LIPKIT_PG_finding(bpy.types.PropertyGroup):
    """One finding of the last review (inference.review.Finding), in scene frames."""

    kind: StringProperty(name="Kind")
    phone: StringProperty(name="Phone")
    word: StringProperty(name="Word")
    channel: StringProperty(name="Channel", description="The channel of a jump, a stuck channel or a forcing key")
    message: StringProperty(name="Finding")
    frame: IntProperty(name="Frame", description="Scene frame to look at", **FRAME_LIMITS)
    first: IntProperty(name="First Frame", **FRAME_LIMITS)
    last: IntProperty(name="Last Frame", **FRAME_LIMITS)
    severity: FloatProperty(name="Severity", min=0.0, max=1.0)


class LIPKIT_PG_constraint(bpy.types.PropertyGroup):
    """A value the animator fixes: `channel` is `value` at scene frame `frame`."""

    frame: IntProperty(name="Frame", **FRAME_LIMITS)
    channel: StringProperty(name="Channel", description="ARKit channel")
    value: FloatProperty(name="Value", min=0.0, max=1.0)
    enabled: BoolProperty(name="Enabled", default=True, description="Use this constraint when regenerating")


class LIPKIT_PG_object(bpy.types.PropertyGroup):
    """Per-character settings, stored on the character's main (head) mesh object."""

    channels: CollectionProperty(type=LIPKIT_PG_channel)
    channel_index: IntProperty(name="Active Channel")
    meshes: CollectionProperty(type=LIPKIT_PG_mesh)
    mesh_index: IntProperty(name="Active Mesh")
    takes: CollectionProperty(type=LIPKIT_PG_take)
    take_index: IntProperty(name="Active Take")
    show_problems_only: BoolProperty(name="Problems Only", default=False,
                                   description="List only channels that are missing or ambiguous")
    constraints: CollectionProperty(type=LIPKIT_PG_constraint)
    constraint_index: IntProperty(name="Active Constraint")
    locked_regions: EnumProperty(name="Locked Regions", items=REGION_ITEMS, options={"ENUM_FLAG"},
                                 description="Regions no regeneration or edit touches")
    findings: CollectionProperty(type=LIPKIT_PG_finding)
    finding_index: IntProperty(name="Active Finding", update=_on_finding_pick)
    reviewed_take: PointerProperty(name="Reviewed Take", type=bpy.types.Action,
                                   description="The take the findings belong to")
    lip_vertices: IntVectorProperty(name="Lip Vertices", size=4, default=(-1, -1, -1, -1), min=-1,
                                    description="Vertex indices of the upper and lower lip midpoints and the left "
                                                "and right mouth corners the review measures (each -1: found "
                                                "from the shape keys)")


class LIPKIT_PG_shot(bpy.types.PropertyGroup):
    """One shot of the batch (its `name` is the shot name): a line, who says it, and how to animate it."""

    enabled: BoolProperty(name="Run", default=True, description="Include this shot in the batch")
    row: IntProperty(name="Row", description="Row of the shot list file (or position in the scanned list)")
    strip: StringProperty(name="Strip", description="The sound strip of the line (empty: the audio file)")
    audio: StringProperty(name="Audio", subtype="FILE_PATH", description="The audio file of the line")
    character: StringProperty(name="Character", description="Object or collection that says the line")
    start_frame: IntProperty(name="Start Frame", default=1, description="Scene frame an audio file starts on",
                             **FRAME_LIMITS)
    engine: EnumProperty(name="Engine", items=ENGINE_ITEMS, default="regression")
    seed: IntProperty(name="Seed", **SEED_LIMITS)
    emotion: StringProperty(name="Emotion", description="Emotion mix, e.g. happy=0.6, sad=0.2")
    transcript: StringProperty(name="Transcript", description="What is said (phonetic engine)")
    take: StringProperty(name="Take", description="Name of the take (empty: the shot name)")
    error: StringProperty(name="Problem", description="Why this row cannot run")
    status: StringProperty(name="Status", description="What the last batch did with this shot")


class LIPKIT_PG_scene(bpy.types.PropertyGroup):
    """The shot's generation settings: sound, engine, emotion sliders (animatable), layers, range."""

    sound_source: EnumProperty(name="Sound", items=(
        ("STRIP", "Strip", "A sound strip of the scene's sequencer"),
        ("FILE", "File", "A sound file, added as a strip at the chosen frame")), default="STRIP")
    strip: StringProperty(name="Strip", description="The sound strip to lip-sync")
    sound_file: StringProperty(name="File", subtype="FILE_PATH", description="A sound file Blender can play")
    file_frame: IntProperty(name="At Frame", default=1, description="Scene frame the file starts on", **FRAME_LIMITS)
    engine: EnumProperty(name="Engine", items=ENGINE_ITEMS, default="regression")
    transcript: StringProperty(name="Transcript", description="What is said (phonetic engine)")
    transcript_file: StringProperty(name="Transcript File", subtype="FILE_PATH",
                                    description="A text file with what is said (used when the text is empty)")
    recognition: EnumProperty(name="Recognition", items=RECOGNITION_ITEMS, default=phones.DEFAULT_RECOGNITION,
                              description="How the phonetic engine finds phones when there is no transcript")
    voice: EnumProperty(name="Voice", items=VOICE_ITEMS, default=generation.DEFAULT_VOICE,
                        description="How the regression and diffusion models hear the voice")
    seed: IntProperty(name="Seed", default=0, description="Same seed, same take; another seed, another take",
                      **SEED_LIMITS)
    steps: IntProperty(name="Steps", default=0, min=0, max=limits.MAX_STEPS, description="Diffusion steps (0: the model's)")
    guidance: FloatProperty(name="Guidance", default=-1.0, min=-1.0, max=limits.MAX_GUIDANCE,
                            description="Emotion guidance for diffusion (negative: the model's)")
    emotion_intensity: FloatProperty(name="Intensity", default=1.0, min=0.0, max=1.0,
                                     description="Scales every emotion slider")
    layer_lips: BoolProperty(name="Lips", default=True)
    layer_blinks: BoolProperty(name="Blinks", default=True)
    layer_gaze: BoolProperty(name="Gaze", default=True)
    layer_brows: BoolProperty(name="Brows", default=True)
    layer_head: BoolProperty(name="Head", default=True)
    head_object: PointerProperty(name="Head Rig", type=bpy.types.Object,
                                 description="Object (or armature) that gets the head motion; empty: none")
    head_bone: StringProperty(name="Bone", description="Bone of the armature that turns the head (empty: the object)")
    range_mode: EnumProperty(name="Range", items=(
        ("PREVIEW", "Preview Range", "The scene's preview range"),
        ("MARKERS", "Markers", "Between two timeline markers"),
        ("TYPED", "Frames", "Typed start and end frames")), default="TYPED")
    marker_start: StringProperty(name="From Marker")
    marker_end: StringProperty(name="To Marker")
    range_start: IntProperty(name="Start", default=1, **FRAME_LIMITS)
    range_end: IntProperty(name="End", default=50, **FRAME_LIMITS)
    shots: CollectionProperty(type=LIPKIT_PG_shot)
    shot_index: IntProperty(name="Active Shot")
    batch_review: BoolProperty(name="Review", default=False,
                               description="Review each shot's new take: its findings counted in the report "
                                           "and summarised in the Takes list (slower without a transcript)")
    character_separator: StringProperty(
        name="Name Separator", default="_",
        description="Scan Sequencer: a strip named <character><separator><line> is said by <character> "
                    "(a 'lipkit_character' custom property on the strip wins)")


EMOTION_PROPERTY_PREFIX = "emotion_"
for _category in emotion.CATEGORIES:
    LIPKIT_PG_scene.__annotations__[EMOTION_PROPERTY_PREFIX + _category] = FloatProperty(
        name=_category.title(), min=0.0, max=1.0, default=0.0,
        description=f"How {_category} the character is (animatable: key it to change over time)")
LAYER_PROPERTIES = {layer: f"layer_{layer}" for layer in generation.LAYERS}


class LIPKIT_PG_job(bpy.types.PropertyGroup):
    """The generation running in the background of the UI (one at a time)."""

    running: BoolProperty(name="Running")
    progress: FloatProperty(name="Progress", subtype="PERCENTAGE", min=0.0, max=100.0)
    message: StringProperty(name="Status")
    last_provider: StringProperty(name="Last Take Ran On",
                                  description="Where the models of the last take made in this session ran")


class LIPKIT_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    execution_provider: EnumProperty(
        name="Run Models On",
        items=(
            ("AUTO", "Auto", "The GPU when one is usable (CUDA, DirectML, CoreML), else the CPU"),
            ("CPU", "CPU", "Always the CPU"),
            ("GPU", "GPU", "The GPU; falls back to the CPU with a note when none is usable"),
        ),
        default="AUTO",
    )
    cpu_threads: IntProperty(name="CPU Threads", description="Threads for model inference (0: automatic)",
                             default=0, min=0, max=256)

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "execution_provider")
        layout.prop(self, "cpu_threads")
        last = context.window_manager.lipkit.last_provider or "no take yet this session"
        layout.label(text=f"Last take ran on: {last}")


classes = (LIPKIT_PG_channel, LIPKIT_PG_mesh, LIPKIT_PG_take, LIPKIT_PG_finding, LIPKIT_PG_constraint, LIPKIT_PG_object,
           LIPKIT_PG_shot, LIPKIT_PG_scene, LIPKIT_PG_job, LIPKIT_AddonPreferences)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Object.lipkit = PointerProperty(type=LIPKIT_PG_object)
    bpy.types.Scene.lipkit = PointerProperty(type=LIPKIT_PG_scene)
    bpy.types.WindowManager.lipkit = PointerProperty(type=LIPKIT_PG_job)


def unregister():
    del bpy.types.WindowManager.lipkit
    del bpy.types.Scene.lipkit
    del bpy.types.Object.lipkit
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
