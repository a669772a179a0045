"""Fixtures for tests in real Blender (the `bpy` wheel, headless), with Lipkit enabled as an extension.

Without bpy these tests are not collected, unless LIPKIT_REQUIRE_BPY=1 (scripts/test.sh sets it),
when a missing bpy is an error.
"""

import importlib.util
import os

import pytest

HAVE_BPY = importlib.util.find_spec("bpy") is not None
if not HAVE_BPY:
    if os.environ.get("LIPKIT_REQUIRE_BPY"):
        raise ImportError("LIPKIT_REQUIRE_BPY is set but bpy is not installed in this environment")
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def extension_repo(tmp_path_factory):
    """A temporary user extensions repository holding this checkout as `lipkit`.

    It is not removed afterwards: removing a repository after its add-on was disabled crashes
    bpy 4.2 at exit, and background Blender never saves preferences, so nothing outlives the run.
    """
    import bpy
    from bpy_helpers import REPO_MODULE, REPO_ROOT
    folder = tmp_path_factory.mktemp("extensions")
    (folder / "lipkit").symlink_to(REPO_ROOT, target_is_directory=True)
    repos = bpy.context.preferences.extensions.repos
    repos.new(name="Lipkit tests", module=REPO_MODULE, custom_directory=str(folder), source="USER")
    return folder


@pytest.fixture(scope="session")
def lipkit(extension_repo):
    """The enabled add-on's package (`bl_ext.lipkit_tests.lipkit`)."""
    from bpy_helpers import disable_addon, enable_addon
    module = enable_addon()
    yield module
    disable_addon()


@pytest.fixture
def addon(lipkit):
    """A fresh empty file with the add-on enabled; gives the add-on package."""
    import bpy
    bpy.ops.wm.read_homefile(use_empty=True)
    assert hasattr(bpy.types.Object, "lipkit"), "the add-on must survive loading a file"
    return lipkit
