"""Per-job estimate options as they arrive over HTTP (strings from forms, numbers from JSON).

The options, their ranges and the cross-field rules are declared once in `posebake_core.jobs` (the add-on's
client checks with the same code before it uploads); this module adds only what needs the video: whether
the requested range lies inside it.
"""
from __future__ import annotations

from typing import Any, Mapping

from posebake_core.jobs import ErrorCode, OptionError, check_focal, validate_options

__all__ = ["OptionError", "check_focal", "check_range", "parse_options"]


def parse_options(raw: Mapping[str, Any], ignore: tuple[str, ...] = ("path",)) -> dict[str, Any]:
    """Validated options dict (only keys given), or `OptionError` with a code and the field."""
    return validate_options(raw, ignore=ignore)


def check_range(opts: Mapping[str, Any], frame_count: int) -> int | None:
    """Frames the job will cover (None if unknown); `OptionError` if start lies past the video's end."""
    start = int(opts.get("start", 0))
    if frame_count and start >= frame_count:
        raise OptionError(f"start {start} is beyond the end of the video ({frame_count} frames)",
                          ErrorCode.OPTION_OUT_OF_RANGE, "start")
    end = opts.get("end")
    if frame_count:
        end = frame_count if end is None else min(int(end), frame_count)
    return None if end is None else int(end) - start
