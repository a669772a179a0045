"""Every Lip Sync panel and list draws without error in every state.

Headless Blender has no UI to draw into, so the panels draw into a recording layout that checks
what a real one would: each `prop` names a real property of its data, each `operator` a registered
operator, each `template_list` a registered UIList and real collections.
"""

from bpy_helpers import bpy, link_mesh_from_library, make_active, make_mesh, submodule


class RecordingLayout:
    """Accepts the UILayout calls the panels make, validating their arguments."""

    def __init__(self, log):
        self.log = log
        self.use_property_split = False
        self.enabled = True
        self.active = True
        self.alert = False

    def _sub(self, *_args, **_kwargs):
        return RecordingLayout(self.log)

    row = column = box = split = _sub

    def label(self, text="", icon="NONE", **_kwargs):
        self.log.append(("label", text))

    def prop(self, data, name, **_kwargs):
        assert name in data.bl_rna.properties, f"{data} has no property {name!r}"
        self.log.append(("prop", name))

    def prop_search(self, data, name, search_data, search_name, **_kwargs):
        assert name in data.bl_rna.properties
        assert search_name in search_data.bl_rna.properties
        self.log.append(("prop_search", name))

    def operator(self, idname, **_kwargs):
        module, name = idname.split(".")
        rna = getattr(getattr(bpy.ops, module), name).get_rna_type()  # raises KeyError if unregistered
        self.log.append(("operator", idname))
        return OperatorProperties(rna)

    def operator_menu_enum(self, idname, prop, **_kwargs):
        self.operator(idname)
        assert prop in self.operator(idname).rna.properties, f"{idname} has no property {prop!r}"

    def template_list(self, list_type, _list_id, data, prop, active_data, active_prop, **_kwargs):
        assert hasattr(bpy.types, list_type), list_type
        assert prop in data.bl_rna.properties and active_prop in active_data.bl_rna.properties
        ui_list = getattr(bpy.types, list_type)
        for index, item in enumerate(getattr(data, prop)):
            ui_list.draw_item(ui_list, bpy.context, RecordingLayout(self.log), data, item, 0,
                              active_data, active_prop, index)
        self.log.append(("list", list_type))


class OperatorProperties:
    """What `layout.operator` returns: setting a property it does not have is an error."""

    def __init__(self, rna):
        object.__setattr__(self, "rna", rna)

    def __setattr__(self, name, value):
        prop = self.rna.properties.get(name)
        assert prop is not None, f"{self.rna.identifier} has no property {name!r}"
        if prop.type == "ENUM":
            assert value in {item.identifier for item in prop.enum_items}, f"{name}={value!r}"


PANELS = ("LIPKIT_PT_main", "LIPKIT_PT_meshes", "LIPKIT_PT_mapping", "LIPKIT_PT_generate", "LIPKIT_PT_emotion",
          "LIPKIT_PT_takes", "LIPKIT_PT_constraints", "LIPKIT_PT_range", "LIPKIT_PT_regions", "LIPKIT_PT_batch")


def draw_all_panels():
    """Draw every Lipkit panel whose poll passes; returns the recorded calls."""
    log = []
    for name in PANELS:
        panel = getattr(bpy.types, name)
        if hasattr(panel, "poll") and not panel.poll(bpy.context):
            continue
        fake = type("PanelSelf", (), {"layout": RecordingLayout(log)})()
        panel.draw(fake, bpy.context)
    return log


def _labels(log):
    return [text for kind, text in log if kind == "label"]


def test_no_active_object(addon):
    assert "Select the character's head mesh" in _labels(draw_all_panels())


def test_not_a_mesh_and_no_shape_keys(addon):
    camera = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    bpy.context.scene.collection.objects.link(camera)
    make_active(camera)
    assert "'Cam' is not a mesh" in _labels(draw_all_panels())
    make_active(make_mesh("Plain"))
    assert "This mesh has no shape keys" in _labels(draw_all_panels())


def test_unmapped_mapped_ambiguous_and_with_takes(addon):
    head = make_mesh("Head", ["jawOpen", "eyeBlink_L", "EyeBlink.L"])
    make_active(head)
    assert "Not mapped yet" in _labels(draw_all_panels())
    bpy.ops.lipkit.mapping_detect()
    log = draw_all_panels()
    assert "1 / 52 channels mapped" in _labels(log)
    assert "1 ambiguous: pick in Mapping" in _labels(log)
    assert ("list", "LIPKIT_UL_channels") in log
    head.lipkit.show_problems_only = True
    draw_all_panels()

    curves = submodule("inference.curves").Curves.zeros(10, 24)
    takes = submodule("animation.takes")
    action = takes.write_take([head], curves, {"jawOpen": "jawOpen"}, bpy.context.scene, 1, "line")
    submodule("animation.character").add_take(head, action)
    bpy.context.scene.render.fps = 30  # the take's fps no longer matches
    log = draw_all_panels()
    assert ("list", "LIPKIT_UL_takes") in log and ("operator", "lipkit.take_import") in log
    bpy.data.actions.remove(action)  # deleted behind Lipkit's back, e.g. in the Outliner
    assert "(deleted)" in _labels(draw_all_panels())


def test_linked_head_is_flagged(addon, tmp_path):
    link_mesh_from_library(tmp_path, "LinkedHead")
    assert "Linked data: make it local or override it" in _labels(draw_all_panels())


def test_preferences_draw(addon):
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    log = []
    type(prefs).draw(_PrefsProxy(prefs, log), bpy.context)
    assert ("prop", "execution_provider") in log and ("prop", "cpu_threads") in log


def test_preferences_show_where_the_last_take_ran(addon):
    from lipsync_helpers import generate, mapped_head, setup_scene, showing, use_sound
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    prefs.execution_provider = "GPU"   # no GPU provider here: the take runs on the CPU after a note
    scene = setup_scene()
    head = mapped_head()
    use_sound(scene, 1, strip=False)
    try:
        generate(scene, engine="regression")
    finally:
        prefs.execution_provider = "AUTO"
    takes = submodule("animation.takes")
    assert takes.take_info(showing(head))["provider"] == "CPUExecutionProvider"
    log = []
    type(prefs).draw(_PrefsProxy(prefs, log), bpy.context)
    assert ("label", "Last take ran on: CPUExecutionProvider") in log
    generate(scene, engine="phonetic")
    log = []
    type(prefs).draw(_PrefsProxy(prefs, log), bpy.context)
    assert ("label", "Last take ran on: no model") in log and takes.take_info(showing(head))["provider"] == "no model"


class _PrefsProxy:
    """The preferences object with a recording layout (draw reads `self` properties too)."""

    def __init__(self, prefs, log):
        self._prefs = prefs
        self.layout = RecordingLayout(log)

    def __getattr__(self, name):
        return getattr(self._prefs, name)


def test_generation_panels_draw_in_every_state(addon, tmp_path):
    from lipsync_helpers import generate, mapped_head, setup_scene, use_sound
    scene = setup_scene()
    head = mapped_head()
    settings = scene.lipkit
    scene.sequence_editor_clear()
    drawn = []
    for engine in ("regression", "diffusion", "phonetic"):
        for source in ("STRIP", "FILE"):
            for range_mode in ("PREVIEW", "MARKERS", "TYPED"):
                settings.engine, settings.sound_source, settings.range_mode = engine, source, range_mode
                drawn.append(draw_all_panels())
    assert ("prop", "transcript") in drawn[-1] and ("prop", "steps") in drawn[6]
    assert "No sound strips: add one or pick a file" in _labels(drawn[0])
    use_sound(scene, 1, strip=False)
    settings.engine = "regression"
    generate(scene, layers=("lips", "blinks"))
    scene.sequence_editor_create()
    head.lipkit.locked_regions = {"brows"}
    item = head.lipkit.constraints.add()
    item.frame, item.channel, item.value = 3, "jawOpen", 0.5
    rig = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    settings.head_object, settings.layer_head = rig, True
    bpy.context.window_manager.lipkit.running = True
    log = draw_all_panels()
    assert ("list", "LIPKIT_UL_constraints") in log and ("prop", "progress") in log
    assert ("prop_search", "head_bone") in log and ("operator", "lipkit.region_scale") in log
    assert ("operator", "lipkit.generate") not in log, "no second Generate while one runs"
    bpy.context.window_manager.lipkit.running = False
    assert ("operator", "lipkit.generate") in draw_all_panels()


def test_batch_panel_draws_the_shot_list_in_every_state(addon, tmp_path):
    import shutil
    from lipsync_helpers import LINE, mapped_head
    mapped_head().name = "Alice"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    assert ("operator", "lipkit.shots_scan") in draw_all_panels()
    shutil.copy(LINE, tmp_path / "line.wav")
    (tmp_path / "shots.csv").write_text("shot,audio,character\na,line.wav,Alice\nb,gone.wav,Alice\n")
    bpy.ops.lipkit.shots_load(filepath=str(tmp_path / "shots.csv"))
    settings = bpy.context.scene.lipkit
    log = draw_all_panels()
    assert ("list", "LIPKIT_UL_shots") in log and ("prop", "audio") in log and ("operator", "lipkit.batch") in log
    settings.shot_index = 1
    assert any("gone.wav" in text for text in _labels(draw_all_panels()))
    bpy.context.window_manager.lipkit.running = True
    log = draw_all_panels()
    assert ("prop", "progress") in log and ("operator", "lipkit.batch") not in log
    bpy.context.window_manager.lipkit.running = False
