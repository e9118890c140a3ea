"""Per-job estimate options as they arrive over HTTP (strings from forms, numbers from JSON).

Only the options that make sense per job are accepted; the device and batch size belong to the server.
An unknown field is an error rather than silently ignored: a typo like `max_poeple` must not quietly run
with the default. `subject_height` (metres) is accepted in the same range as `posebake estimate
--subject-height`, so a value typed in centimetres (170) is refused instead of shrinking the person 100x.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from posebake_core.errors import PoseBakeError
from ..scale import check_height

OPTION_TYPES: dict[str, type] = {"fov": float, "focal": float, "max_people": int, "start": int, "end": int,
                                  "subject_height": float}
MAX_PEOPLE_LIMIT = 16


class OptionError(PoseBakeError):
    """A job option is missing, malformed or out of range (HTTP 422)."""


def _convert(name: str, value: Any) -> float | int | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    kind = OPTION_TYPES[name]
    if isinstance(value, bool):
        raise OptionError(f"option {name!r} must be a number, got {value!r}")
    try:
        if kind is int:
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"option {name!r} must be {'an integer' if kind is int else 'a number'}, "
                          f"got {value!r}") from None
    if not math.isfinite(number):
        raise OptionError(f"option {name!r} must be finite, got {value!r}")
    return number


def parse_options(raw: Mapping[str, Any], ignore: tuple[str, ...] = ("path",)) -> dict[str, Any]:
    """Validated options dict (only keys given), or `OptionError` with a message naming the field."""
    unknown = sorted(set(raw) - set(OPTION_TYPES) - set(ignore))
    if unknown:
        raise OptionError(f"unknown field(s): {', '.join(unknown)}; accepted: file or path, "
                          f"{', '.join(OPTION_TYPES)}")
    opts = {k: v for k in OPTION_TYPES if k in raw and (v := _convert(k, raw[k])) is not None}
    if "fov" in opts and "focal" in opts:
        raise OptionError("give either fov or focal, not both")
    if "fov" in opts and not 0 < opts["fov"] < 180:
        raise OptionError(f"fov must be between 0 and 180 degrees, got {opts['fov']}")
    if "focal" in opts and opts["focal"] <= 0:
        raise OptionError(f"focal must be positive (pixels), got {opts['focal']}")
    try:
        check_height(opts.get("subject_height"), "subject_height")
    except PoseBakeError as exc:
        raise OptionError(str(exc)) from None
    if "max_people" in opts and not 1 <= opts["max_people"] <= MAX_PEOPLE_LIMIT:
        raise OptionError(f"max_people must be between 1 and {MAX_PEOPLE_LIMIT}, got {opts['max_people']}")
    if opts.get("start", 0) < 0:
        raise OptionError(f"start must be >= 0, got {opts['start']}")
    if "end" in opts and opts["end"] <= opts.get("start", 0):
        raise OptionError(f"end ({opts['end']}) must be greater than start ({opts.get('start', 0)})")
    return opts


def check_range(opts: Mapping[str, Any], frame_count: int) -> int | None:
    """Frames the job will cover (None if unknown); `OptionError` if start lies past the video's end."""
    start = int(opts.get("start", 0))
    if frame_count and start >= frame_count:
        raise OptionError(f"start {start} is beyond the end of the video ({frame_count} frames)")
    end = opts.get("end")
    if frame_count:
        end = frame_count if end is None else min(int(end), frame_count)
    return None if end is None else int(end) - start
