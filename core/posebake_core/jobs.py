"""The job contract between the backend and its clients: options, error codes, progress events.

Declared once, here, and used by everyone:
- the HTTP service validates each submission with `validate_options` and publishes `json_schema()` as the
  request body of `POST /jobs` in its OpenAPI document (generated, not hand-written);
- the add-on's client validates before it uploads, with the same function, so a typo or a height in
  centimetres is refused in Blender at once instead of after an upload;
- `posebake estimate` takes the same options as flags (`OptionSpec.flag`), and prints its progress as
  `progress_line` events that the add-on's subprocess runner reads with `parse_event` (no scraping of
  progress-bar text);
- every refusal carries a stable `code` (`ErrorCode`): clients branch on codes, never on message text.

Standard library only: the add-on imports this inside Blender.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import PoseBakeError

#: Accepted standing heights, metres: a small child to the tallest people on record. Everything that takes a
#: height (CLI, bake/batch, the HTTP service, the add-on) checks it against this, so a value typed in
#: centimetres (170) is refused before minutes of estimation instead of shrinking the person a hundredfold.
HEIGHT_RANGE_M = (0.5, 2.6)
#: More people than this per video is almost always a mistake (a crowd shot); the tracker's cost grows with it.
MAX_PEOPLE_LIMIT = 16
#: Horizontal field of view a pinhole camera can have, degrees. About 2° is a 1000 mm lens on a full-frame
#: sensor (36 mm / 1000 mm), the longest lens anyone films a person with; about 150° is past the widest
#: rectilinear lenses made (~130° for a 10 mm lens on full frame). Outside this the person cannot be in the
#: picture at a metric distance the root solve can reach: the run would end "done" with every joint NaN.
FOV_RANGE_DEG = (2.0, 150.0)
#: Frame indexes past 2^31 do not exist in any container FFmpeg reads (its frame counters are 32-bit ints).
MAX_FRAME_INDEX = 2 ** 31 - 1


class ErrorCode:
    """Stable machine-readable error codes (the `code` of an error response or event)."""

    UNKNOWN_OPTION = "unknown_option"
    INVALID_OPTION = "invalid_option"
    CONFLICTING_OPTIONS = "conflicting_options"
    OPTION_OUT_OF_RANGE = "option_out_of_range"
    NO_VIDEO = "no_video"
    BAD_REQUEST = "bad_request"
    VIDEO_UNREADABLE = "video_unreadable"
    PATH_FORBIDDEN = "path_forbidden"
    PATH_NOT_FOUND = "path_not_found"
    PATH_INVALID = "path_invalid"
    JOB_NOT_FOUND = "job_not_found"
    JOB_NOT_READY = "job_not_ready"
    RESULT_GONE = "result_gone"
    UPLOAD_TOO_LARGE = "upload_too_large"
    UPLOAD_INCOMPLETE = "upload_incomplete"
    UPLOAD_TIMEOUT = "upload_timeout"
    TOKEN_MISSING = "token_missing"
    TOKEN_REJECTED = "token_rejected"
    SHUTTING_DOWN = "shutting_down"
    ESTIMATE_FAILED = "estimate_failed"
    INTERRUPTED = "interrupted"
    INTERNAL = "internal_error"


class OptionError(PoseBakeError, ValueError):
    """A job option is unknown, malformed, out of range or in conflict; `code` and `field` say which."""

    def __init__(self, message: str, code: str = ErrorCode.INVALID_OPTION, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.field = code, field


@dataclass(frozen=True)
class OptionSpec:
    """One per-job estimate option: its JSON type, bounds and the text every client shows for it."""

    name: str
    kind: str  # "number" or "integer" (JSON Schema types)
    description: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None

    @property
    def flag(self) -> str:
        """The `posebake estimate` flag that takes this option."""
        return "--" + self.name.replace("_", "-")

    def cli(self, value: Any) -> list[str]:
        """The estimate's arguments for `value`: `--flag VALUE`, or `--flag` / `--no-flag` for a boolean."""
        if self.kind == "boolean":
            return [self.flag if value else "--no-" + self.flag[2:]]
        return [self.flag, str(value)]

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "description": self.description}
        for key, value in (("minimum", self.minimum), ("maximum", self.maximum),
                           ("exclusiveMinimum", self.exclusive_minimum), ("exclusiveMaximum", self.exclusive_maximum)):
            if value is not None:
                out[key] = value
        return out


#: The options a job may set; the device and the batch size belong to the server.
JOB_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("fov", "number", "horizontal field of view of the longer image side, degrees (not with focal)",
               minimum=FOV_RANGE_DEG[0], maximum=FOV_RANGE_DEG[1]),
    OptionSpec("focal", "number", "focal length in pixels (not with fov); checked against the video's size: "
               f"the field of view it gives must lie in {FOV_RANGE_DEG[0]:g}-{FOV_RANGE_DEG[1]:g} degrees",
               exclusive_minimum=0),
    OptionSpec("max_people", "integer", "most people to track", minimum=1, maximum=MAX_PEOPLE_LIMIT),
    OptionSpec("start", "integer", "first video frame (index)", minimum=0, maximum=MAX_FRAME_INDEX),
    OptionSpec("end", "integer", "stop before this video frame (index; greater than start)", minimum=1,
               maximum=MAX_FRAME_INDEX),
    OptionSpec("subject_height", "number", "the actor's standing height in metres (fixes the metric scale)",
               minimum=HEIGHT_RANGE_M[0], maximum=HEIGHT_RANGE_M[1]),
    OptionSpec("hands", "boolean", "also estimate both hands' finger landmarks (for rigs with finger bones)"),
)
OPTIONS: dict[str, OptionSpec] = {o.name: o for o in JOB_OPTIONS}
OPTION_NAMES: tuple[str, ...] = tuple(OPTIONS)


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _convert(spec: OptionSpec, value: Any) -> float | int | bool | None:
    """A form string or JSON value as the option's type; None for an empty value."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if spec.kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise OptionError(f"option {spec.name!r} must be true or false, got {_short(value)}", field=spec.name)
    wanted = "an integer" if spec.kind == "integer" else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise OptionError(f"option {spec.name!r} must be {wanted}, got {_short(value)}", field=spec.name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"option {spec.name!r} must be {wanted}, got {_short(value)}", field=spec.name) from None
    except OverflowError:  # an integer of hundreds of digits
        raise OptionError(f"option {spec.name!r} is out of range, got {_short(value)}",
                          ErrorCode.OPTION_OUT_OF_RANGE, spec.name) from None
    if not math.isfinite(number):
        raise OptionError(f"option {spec.name!r} must be finite, got {_short(value)}", field=spec.name)
    if spec.kind == "integer":
        if not number.is_integer():
            raise OptionError(f"option {spec.name!r} must be {wanted}, got {_short(value)}", field=spec.name)
        return int(number)
    return number


def _short(value: Any, limit: int = 40) -> str:
    """`repr` cut to a readable length: a message must not echo a megabyte of input."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def fov_of_focal(focal_px: float, width: int, height: int) -> float:
    """Horizontal field of view (degrees) of the longer image side for a focal length in pixels."""
    return math.degrees(2.0 * math.atan2(0.5 * max(width, height), focal_px))


def check_focal(focal_px: float, width: int, height: int, name: str = "focal") -> None:
    """Refuse a focal length that no real camera filming a person has on this image (`FOV_RANGE_DEG`)."""
    fov = fov_of_focal(focal_px, width, height)
    lo, hi = FOV_RANGE_DEG
    if not lo <= fov <= hi:
        f_lo = 0.5 * max(width, height) / math.tan(math.radians(hi) / 2)
        f_hi = 0.5 * max(width, height) / math.tan(math.radians(lo) / 2)
        raise OptionError(f"{name} {focal_px:g} px gives a {fov:.4g}° field of view on this {width}x{height} video; "
                          f"a camera filming a person has {lo:g}-{hi:g}° (a focal of {f_lo:.0f}-{f_hi:.0f} px here)",
                          ErrorCode.OPTION_OUT_OF_RANGE, name)


def _check_bounds(spec: OptionSpec, v: float) -> None:
    lo, hi = spec.minimum, spec.maximum
    xlo, xhi = spec.exclusive_minimum, spec.exclusive_maximum
    ok = (lo is None or v >= lo) and (hi is None or v <= hi) and (xlo is None or v > xlo) and (xhi is None or v < xhi)
    if ok:
        return
    if spec.name == "subject_height":  # the common mistake: centimetres
        msg = (f"subject_height is in metres (the standing height) and must lie in "
               f"{HEIGHT_RANGE_M[0]}-{HEIGHT_RANGE_M[1]}, got {v:.10g}")
    else:
        parts = [f">= {lo:g}" if lo is not None else "", f"<= {hi:g}" if hi is not None else "",
                 f"> {xlo:g}" if xlo is not None else "", f"< {xhi:g}" if xhi is not None else ""]
        msg = f"{spec.name} must be {' and '.join(p for p in parts if p)} ({spec.description}), got {v:.10g}"
    raise OptionError(msg, ErrorCode.OPTION_OUT_OF_RANGE, spec.name)


def validate_options(raw: Mapping[str, Any], ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """The options of `raw` that are set, converted and checked; `OptionError` (with a code and the field)
    for an unknown name, a wrong type, a value out of range, or fov given with focal, or end <= start.

    An unknown field is an error rather than silently ignored: a typo like `max_poeple` must not quietly
    run with the default. `ignore` lists other fields the caller handles (the video's `path`)."""
    unknown = sorted(set(raw) - set(OPTIONS) - set(ignore))
    if unknown:
        raise OptionError(f"unknown field(s): {', '.join(_short(k) for k in unknown[:5])}; accepted: "
                          f"{', '.join(OPTION_NAMES)}",
                          ErrorCode.UNKNOWN_OPTION, unknown[0])
    opts: dict[str, Any] = {}
    for spec in JOB_OPTIONS:
        if spec.name in raw and (value := _convert(spec, raw[spec.name])) is not None:
            opts[spec.name] = value
    if "fov" in opts and "focal" in opts:
        raise OptionError("give either fov or focal, not both", ErrorCode.CONFLICTING_OPTIONS, "focal")
    for name, value in opts.items():
        if OPTIONS[name].kind != "boolean":
            _check_bounds(OPTIONS[name], value)
    if "end" in opts and opts["end"] <= opts.get("start", 0):
        raise OptionError(f"end ({opts['end']}) must be greater than start ({opts.get('start', 0)})",
                          ErrorCode.CONFLICTING_OPTIONS, "end")
    return opts


def json_schema(extra: Mapping[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The options as a JSON Schema object (plus `extra` properties, such as the video's `path`)."""
    props = {o.name: o.schema() for o in JOB_OPTIONS}
    props.update(extra or {})
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


# -- progress events -------------------------------------------------------------------------------------
EVENT_PREFIX = "posebake-event "


def progress_event(stage: str, done: int, total: int) -> dict[str, Any]:
    """A structured progress event: which stage, how many of how many frames."""
    return {"event": "progress", "stage": str(stage), "done": int(done), "total": int(total)}


def warning_event(message: str) -> dict[str, Any]:
    """The run worked, but the user should know (a video that ended before its announced length)."""
    return {"event": "warning", "message": str(message)}


def error_event(code: str, message: str) -> dict[str, Any]:
    return {"event": "error", "code": code, "message": message}


def event_line(event: Mapping[str, Any]) -> str:
    """One line of machine-readable output (`posebake estimate --events`)."""
    return EVENT_PREFIX + json.dumps(event, separators=(",", ":"))


def parse_event(line: str) -> dict[str, Any] | None:
    """The event of an `event_line`, or None for any other line (logs, warnings)."""
    if not line.startswith(EVENT_PREFIX):
        return None
    try:
        event = json.loads(line[len(EVENT_PREFIX):])
    except ValueError:
        return None
    return event if isinstance(event, dict) and "event" in event else None
