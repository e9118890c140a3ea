"""The headless bake job: the JSON that `posebake bake`/`batch` hand to the add-on's bpy driver.

Written by the backend's CLI (`posebake.commands.bake`), read by `posebake_blender.headless`; both check it
here, so a job the driver would misread is refused with a clear message (and a code) on the side that
made it, before Blender starts, instead of surfacing as a TypeError inside the bpy child.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping

from .jobs import ErrorCode, OptionError
from .retarget.prepare import BakeOptions

MODES = ("check", "bake")
#: field -> (accepted types, required in which modes)
JOB_FIELDS: dict[str, tuple[tuple[type, ...], tuple[str, ...]]] = {
    "mode": ((str,), MODES), "rig": ((str,), MODES), "armature": ((str, type(None)), ()),
    "preset": ((str, type(None)), ()), "motion": ((str,), ("bake",)), "output": ((str, type(None)), ()),
    "fbx": ((str, type(None)), ()), "glb": ((str, type(None)), ()), "usd": ((str, type(None)), ()),
    "options": ((dict,), ()),
    "camera": ((bool,), ()), "preview": ((str, type(None)), ()),
}
#: BakeOptions field -> accepted JSON types (bool is not an int here: `"track": true` is a mistake)
_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "track": (int,), "smoothing": (int, float), "root_motion": (bool,), "foot_lock": (bool,),
    "scale_to_rig": (bool,), "frame_start": (int, type(None)), "frame_end": (int, type(None)),
    "contact_height": (int, float, type(None)), "fingers": (bool,),
}
assert set(_OPTION_TYPES) == {f.name for f in fields(BakeOptions)}, "keep the table in step with BakeOptions"


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def bake_options(raw: Mapping[str, Any]) -> BakeOptions:
    """`BakeOptions` from a job's `options`, refusing unknown fields and values of the wrong type."""
    unknown = sorted(set(raw) - set(_OPTION_TYPES))
    if unknown:
        raise OptionError(f"unknown bake option(s): {', '.join(unknown)}; accepted: {', '.join(_OPTION_TYPES)}",
                          ErrorCode.UNKNOWN_OPTION, unknown[0])
    for name, value in raw.items():
        if not _is(value, _OPTION_TYPES[name]):
            kinds = " or ".join("null" if k is type(None) else k.__name__ for k in _OPTION_TYPES[name])
            raise OptionError(f"bake option {name!r} must be {kinds}, got {value!r}", field=name)
    opts = BakeOptions(**raw)
    if opts.track < 0:
        raise OptionError(f"track must be >= 0, got {opts.track}", ErrorCode.OPTION_OUT_OF_RANGE, "track")
    if opts.contact_height is not None and not 0 < opts.contact_height <= 1:
        raise OptionError(f"contact_height is in leg lengths and must lie in (0, 1], got {opts.contact_height}",
                          ErrorCode.OPTION_OUT_OF_RANGE, "contact_height")
    if opts.smoothing < 0:
        raise OptionError(f"smoothing must be >= 0 frames, got {opts.smoothing}", ErrorCode.OPTION_OUT_OF_RANGE,
                          "smoothing")
    return opts


def check_job(job: Mapping[str, Any]) -> BakeOptions:
    """Refuse a malformed job (unknown or missing fields, wrong types, bad options); return its options."""
    if not isinstance(job, Mapping):
        raise OptionError(f"a bake job must be a JSON object, got {type(job).__name__}", ErrorCode.BAD_REQUEST)
    unknown = sorted(set(job) - set(JOB_FIELDS))
    if unknown:
        raise OptionError(f"unknown job field(s): {', '.join(unknown)}; accepted: {', '.join(JOB_FIELDS)}",
                          ErrorCode.UNKNOWN_OPTION, unknown[0])
    mode = job.get("mode")
    if mode not in MODES:
        raise OptionError(f"job mode must be one of {', '.join(MODES)}, got {mode!r}", field="mode")
    for name, (kinds, required_in) in JOB_FIELDS.items():
        if name not in job:
            if mode in required_in:
                raise OptionError(f"a {mode} job needs the field {name!r}", ErrorCode.BAD_REQUEST, name)
            continue
        if not _is(job[name], kinds):
            raise OptionError(f"job field {name!r} has the wrong type: {job[name]!r}", field=name)
    return bake_options(job.get("options", {}))
