"""The headless bake job contract (`posebake_core.bakejob`): both the CLI that writes a job and the bpy driver
that reads it refuse a malformed one with a clear message and a code, instead of a TypeError in Blender."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from posebake_core.bakejob import check_job
from posebake_core.jobs import ErrorCode, OptionError
from posebake_core.retarget.prepare import BakeOptions

REPO = Path(__file__).resolve().parents[1]
GOOD = {"mode": "bake", "rig": "/r.blend", "armature": None, "preset": None, "motion": "/m.npz", "output": "/o.blend",
        "fbx": None, "glb": None, "options": {"track": 1, "smoothing": 0.5, "root_motion": True, "foot_lock": False,
                                              "scale_to_rig": True, "frame_start": 3, "frame_end": None},
        "camera": False}


def test_a_good_job_gives_its_options() -> None:
    assert check_job(GOOD) == BakeOptions(track=1, smoothing=0.5, foot_lock=False, frame_start=3)
    assert check_job({"mode": "check", "rig": "/r.blend"}) == BakeOptions()


@pytest.mark.parametrize("change, code, words", [
    ({"mode": "bake", "motion": None}, ErrorCode.INVALID_OPTION, "'motion' has the wrong type"),
    ({"mode": "render"}, ErrorCode.INVALID_OPTION, "mode must be one of"),
    ({"rigg": "/r.blend"}, ErrorCode.UNKNOWN_OPTION, "unknown job field(s): rigg"),
    ({"options": {"track": True}}, ErrorCode.INVALID_OPTION, "'track' must be int"),
    ({"options": {"footlock": False}}, ErrorCode.UNKNOWN_OPTION, "unknown bake option(s): footlock"),
    ({"options": {"smoothing": -1}}, ErrorCode.OPTION_OUT_OF_RANGE, "smoothing must be >= 0"),
    ({"options": {"contact_height": 3}}, ErrorCode.OPTION_OUT_OF_RANGE, "contact_height is in leg lengths"),
    ({"camera": "yes"}, ErrorCode.INVALID_OPTION, "'camera' has the wrong type"),
])
def test_a_malformed_job_is_refused_with_a_code(change: dict, code: str, words: str) -> None:
    with pytest.raises(OptionError, match=words.replace("(", r"\(").replace(")", r"\)")) as err:
        check_job({**GOOD, **change})
    assert err.value.code == code


def test_a_job_without_its_motion_is_refused() -> None:
    with pytest.raises(OptionError, match="a bake job needs the field 'motion'"):
        check_job({k: v for k, v in GOOD.items() if k != "motion"})


@pytest.mark.bpy
def test_the_bpy_driver_refuses_it_cleanly(tmp_path: Path) -> None:
    pytest.importorskip("bpy")
    job, result = tmp_path / "job.json", tmp_path / "result.json"
    job.write_text(json.dumps({**GOOD, "options": {"foot_lok": True}}))
    subprocess.run(["timeout", "120", sys.executable, str(REPO / "addon" / "posebake_blender" / "headless.py"),
                    str(job), str(result)], capture_output=True, text=True)
    res = json.loads(result.read_text())
    assert res == {"ok": False, "error": res["error"]} and "unknown bake option(s): foot_lok" in res["error"]
