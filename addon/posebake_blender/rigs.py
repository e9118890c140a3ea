"""Rig presets (data files, one per rig family) and auto-mapping for rigs no preset knows.

A preset maps our canonical roles (see `posebake_core.retarget.canonical.ROLE_JOINTS`) to a rig's bone
names; a role may take one bone or a chain (spine, split limbs). Presets live as JSON in the core package
(`posebake_core/rigs/`), so the backend's wheel and the add-on's bundled core wheel carry the same files.
No bpy here: callers pass bone names (and rest heads for topology), so this is unit-testable.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posebake_core.retarget.armature import required_roles
from posebake_core.retarget.canonical import ROLE_JOINTS
from posebake_core.retarget.finger_topology import fingers_by_shape
from posebake_core.retarget.fingers import FINGER_ROLES
from posebake_core.paths import PRESETS_DIR, user_presets_dir  # where "Save as preset" writes; every lookup looks there too
from posebake_core.retarget.topology import map_by_topology


class RigError(ValueError):
    """Unknown preset, malformed preset file, or a rig that cannot be mapped."""


def presets_dir() -> Path:
    """The built-in presets: package data of `posebake_core`, wherever that is installed."""
    return PRESETS_DIR


def _preset_file(name: str) -> Path | None:
    """A user preset shadows a built-in one of the same name."""
    for folder in (user_presets_dir(), presets_dir()):
        if (folder / f"{name}.json").is_file():
            return folder / f"{name}.json"
    return None


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def save_preset(name: str, mapping: dict[str, list[str]], label: str = "", root_motion: str | None = None,
                path: str | Path | None = None) -> Path:
    """Write a preset file (`path`, else the user presets folder) atomically; returns where it went."""
    if not _NAME.match(name):
        raise RigError(f"preset name {name!r}: use letters, digits, '_', '-' or '.' (up to 64, no spaces)")
    bad = [r for r in mapping if r not in ROLE_JOINTS and r not in FINGER_ROLES]
    if bad:
        raise RigError(f"unknown roles {bad}")
    data = {"schema": "posebake.rig/1", "name": name, "label": label or name,
            "bones": {r: (b[0] if len(b) == 1 else list(b)) for r, b in mapping.items() if b}}
    if root_motion:
        data["root_motion"] = root_motion
    target = Path(path) if path else user_presets_dir() / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


@dataclass
class Preset:
    name: str
    label: str
    bones: dict[str, list[str]]
    root_motion: str | None = None
    notes: str = ""


@dataclass
class MappingReport:
    """What a mapping covers: `mapped` from the preset or exact names, `guessed` from normalised names or
    topology, `unmapped` rig bones left at rest (riding on their parents), `missing` required roles."""

    preset: str | None
    mapping: dict[str, list[str]]
    root_motion: str | None = None
    mapped: dict[str, list[str]] = field(default_factory=dict)
    guessed: dict[str, list[str]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: role -> how the bone was found, as a rank in [0, 1] (`CONFIDENCE`): an order of trust for the
    #: report and the mapping editor, not a measured probability
    confidence: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"preset: {self.preset or 'auto'}",
                 f"mapped: {', '.join(f'{r}={b}' for r, b in self.mapped.items()) or '-'}",
                 "guessed: " + (", ".join(f"{r}={b} ({self.confidence.get(r, 0):.1f})"
                                          for r, b in self.guessed.items()) or "-"),
                 f"unmapped bones: {', '.join(self.unmapped) or '-'}",
                 f"missing roles: {', '.join(self.missing) or '-'}"]
        return "\n".join(lines)


#: how a role's bone was found -> its confidence rank: a preset names it, a normalised name matches a
#: synonym, the hierarchy continues a named chain, or the shape alone places it (topology)
CONFIDENCE = {"preset": 1.0, "name": 0.8, "hierarchy": 0.6, "shape": 0.5}


def _as_list(v) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def load_preset(name_or_path: str | Path) -> Preset:
    p = Path(name_or_path)
    if not p.suffix:
        p = _preset_file(str(name_or_path)) or presets_dir() / f"{name_or_path}.json"
    if not p.is_file():
        raise RigError(f"unknown rig preset {str(name_or_path)!r}; known: {', '.join(list_presets())}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        bones = {role: _as_list(v) for role, v in data["bones"].items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise RigError(f"{p}: malformed rig preset: {exc}") from None
    bad = [r for r in bones if r not in ROLE_JOINTS and r not in FINGER_ROLES]
    if bad:
        raise RigError(f"{p}: unknown roles {bad}")
    return Preset(data.get("name", p.stem), data.get("label", p.stem), bones, data.get("root_motion"),
                  data.get("notes", ""))


def list_presets() -> list[str]:
    """Built-in and user presets (a user preset of a built-in's name replaces it)."""
    return sorted({f.stem for folder in (presets_dir(), user_presets_dir()) for f in folder.glob("*.json")})


_PREFIX = re.compile(r"^(mixamorig\d*[:_]|def[-_]|org[-_]|mch[-_]|bip\d*[ _]|cc_base_|b[-_])", re.I)
_SIDE = [(re.compile(r"([._ -])(l|left)$", re.I), "L"), (re.compile(r"([._ -])(r|right)$", re.I), "R"),
         (re.compile(r"^(left)", re.I), "L"), (re.compile(r"^(right)", re.I), "R"),
         (re.compile(r"^(l)(?=[A-Z_.])"), "L"), (re.compile(r"^(r)(?=[A-Z_.])"), "R"),
         (re.compile(r"(?<=[a-z])(L)$"), "L"), (re.compile(r"(?<=[a-z])(R)$"), "R")]


def normalize_name(name: str) -> tuple[str, str | None]:
    """(base, side): prefixes (mixamorig:, DEF-, ORG-...) and side tokens stripped, lower case, no digits
    or separators. 'mixamorig:LeftUpLeg' -> ('upleg', 'L'); 'thigh_fk.R' -> ('thighfk', 'R')."""
    n = _PREFIX.sub("", name)
    side = None
    for rx, s in _SIDE:
        if rx.search(n):
            n, side = rx.sub("", n, count=1), s
            break
    base = re.sub(r"[^a-z]", "", n.lower())
    return re.sub(r"(fk|ik)$", "", base) or base, side


#: normalised base name -> role kind (sides added from the name)
_SYNONYMS = {
    "hips": "pelvis", "pelvis": "pelvis", "hip": "thigh", "spine": "spine", "chest": "spine", "upperchest": "spine",
    "abdomen": "spine", "torso": "spine", "lowerback": "spine", "neck": "neck", "head": "head",
    "clavicle": "clavicle", "collar": "clavicle", "shoulder": "clavicle", "upperarm": "upper_arm",
    "arm": "upper_arm", "humerus": "upper_arm", "forearm": "forearm", "lowerarm": "forearm",
    "elbow": "forearm", "hand": "hand", "wrist": "hand", "palm": "hand", "upleg": "thigh", "thigh": "thigh",
    "upperleg": "thigh", "femur": "thigh", "leg": "shin", "shin": "shin", "calf": "shin", "lowerleg": "shin",
    "knee": "shin", "tibia": "shin", "foot": "foot", "ankle": "foot", "toe": "toe", "toebase": "toe",
    "ball": "toe", "toes": "toe",
}


#: finger words in normalised bone names -> finger; bones whose names say they are not a phalanx are skipped
_FINGER_WORDS = (("thumb", "thumb"), ("index", "index"), ("pointer", "index"), ("middle", "middle"),
                 ("ring", "ring"), ("pinky", "pinky"), ("pinkie", "pinky"), ("little", "pinky"),
                 # one bone for all four fingers (Quaternius) moves like the middle finger; a lone "finger"
                 # chain beside named others is the index (Godette's Finger, f2a.., f3a..)
                 ("fingers", "middle"), ("finger", "index"))
_NOT_PHALANX = re.compile(r"(metacarpal|_end$|\.end$|end$|leaf|nub|tip|master|twist)", re.I)


def map_fingers(mapping: dict[str, list[str]], names: list[str], parents: list[str | None]) -> dict[str, list[str]]:
    """Finger roles found by name under each mapped hand: for each finger word, the bones below the forearm
    (the hand and its siblings: some rigs hang the fingers from several palm bones) named with it
    (metacarpals, ends, helpers and "...hand" palm bones left out), shallowest first, take the three
    phalanx roles. Returns only the roles found; a rig without finger bones gets none."""
    kids: dict[str, list[str]] = {n: [] for n in names}
    for n, par in zip(names, parents):
        if par is not None:
            kids[par].append(n)
    found: dict[str, list[str]] = {}
    for S in "LR":
        hand = (mapping.get(f"hand.{S}") or [None])[-1]
        top = (mapping.get(f"forearm.{S}") or [hand])[-1]
        if hand is None or top is None:
            continue
        below: list[tuple[int, str]] = []
        stack = [(0, k) for k in kids[top] if k != hand] + [(0, k) for k in kids[hand]]
        while stack:
            d, n = stack.pop()
            below.append((d, n))
            stack += [(d + 1, k) for k in kids[n]]
        used = {b for bones in mapping.values() for b in bones}
        for word, finger in _FINGER_WORDS:
            if f"{finger}_1.{S}" in found:
                continue
            chain = sorted((d, n) for d, n in below if word in normalize_name(n)[0] and n not in used
                           and not normalize_name(n)[0].endswith("hand") and normalize_name(n)[1] in (S, None)
                           and not _NOT_PHALANX.search(n))
            used.update(n for _, n in chain[:3])
            for k, (_, bone) in enumerate(chain[:3], 1):
                found[f"{finger}_{k}.{S}"] = [bone]
    return found


def map_fingers_by_shape(mapping: dict[str, list[str]], names: list[str], parents: list[str | None],
                         heads: np.ndarray | None) -> dict[str, list[str]]:
    """Finger roles from the hands' shape (`finger_topology`) for each side whose fingers the names did
    not find; nothing without rest heads."""
    found: dict[str, list[str]] = {}
    if heads is None:
        return found
    for S in "LR":
        hand = (mapping.get(f"hand.{S}") or [None])[-1]
        if hand is None or any(r in FINGER_ROLES and r.endswith(f".{S}") for r in mapping):
            continue
        found.update(fingers_by_shape(hand, S, names, parents, heads))
    return found


def auto_map(names: list[str], parents: list[str | None], heads: np.ndarray | None = None,
             tails: np.ndarray | None = None, up: np.ndarray | None = None) -> MappingReport:
    """Map an unknown rig from normalised names; the spine/neck chains are ordered by the hierarchy (then
    by height when `heads` is given). When 'shoulder' names both the clavicle and the upper arm (SMPL
    style), the one nearer the spine is the clavicle. Roles the names leave open are taken from the rig's
    shape (`posebake_core.retarget.topology`) when the rest geometry is given: unnamed joints map too."""
    depth = {}
    pidx = {n: p for n, p in zip(names, parents)}
    for n in names:
        d, p = 0, pidx[n]
        while p is not None:
            d, p = d + 1, pidx.get(p)
        depth[n] = d
    found: dict[str, list[str]] = {}
    for n in names:
        base, side = normalize_name(n)
        kind = _SYNONYMS.get(base)
        if kind is None:
            continue
        if kind in ("pelvis", "spine", "neck", "head"):
            found.setdefault(kind, []).append(n)
        elif side:
            found.setdefault(f"{kind}.{side}", []).append(n)
    for S in "LR":  # collar + shoulder (SMPL): the deeper 'shoulder' is the upper arm
        cl = sorted(found.get(f"clavicle.{S}", []), key=depth.get)
        if len(cl) > 1 and f"upper_arm.{S}" not in found:
            found[f"upper_arm.{S}"] = cl[1:]
    mapping: dict[str, list[str]] = {}
    for role, bones in found.items():
        bones = sorted(bones, key=lambda b: depth[b])
        mapping[role] = bones if role in ("spine", "neck") else bones[:1]
    how = {role: "name" for role in mapping}
    _fill_by_topology(mapping, names, parents, heads)
    how.update({role: "hierarchy" for role in mapping if role not in how})
    if heads is not None and tails is not None and any(not mapping.get(r) for r in required_roles()):
        used = {b for bones in mapping.values() for b in bones}
        shape = map_by_topology(names, parents, heads, tails, np.array([0.0, 0.0, 1.0]) if up is None else up)
        for role, bones in shape.items():
            if not mapping.get(role) and not used.intersection(bones):
                mapping[role] = bones
                used.update(bones)
                how[role] = "shape"
    fingers = map_fingers(mapping, names, parents)
    mapping.update(fingers)
    how.update({role: "name" for role in fingers})
    by_shape = map_fingers_by_shape(mapping, names, parents, heads)
    mapping.update(by_shape)
    how.update({role: "shape" for role in by_shape})
    rep = _report(None, mapping, None, names, guessed=True)
    rep.confidence = {role: CONFIDENCE[h] for role, h in how.items()}
    return rep


def _fill_by_topology(mapping: dict[str, list[str]], names: list[str], parents: list[str | None],
                      heads: np.ndarray | None) -> None:
    """Complete limb chains whose bones have unknown names by walking down the hierarchy: the next role
    of a chain is the mapped bone's child with the largest subtree (the limb, not a twist helper)."""
    kids: dict[str, list[str]] = {n: [] for n in names}
    for n, p in zip(names, parents):
        if p is not None:
            kids[p].append(n)

    def size(n: str) -> int:
        return 1 + sum(size(k) for k in kids[n])

    for S in "LR":
        for chain in (("thigh", "shin", "foot", "toe"), ("clavicle", "upper_arm", "forearm", "hand")):
            for a, b in zip(chain, chain[1:]):
                ra, rb = f"{a}.{S}", f"{b}.{S}"
                if mapping.get(ra) and not mapping.get(rb):
                    ch = kids[mapping[ra][-1]]
                    if ch:
                        mapping[rb] = [max(ch, key=size)]


def _report(preset: str | None, mapping: dict[str, list[str]], root_motion: str | None, names: list[str],
            guessed: bool) -> MappingReport:
    used = {b for bones in mapping.values() for b in bones} | ({root_motion} if root_motion else set())
    rep = MappingReport(preset, mapping, root_motion)
    (rep.guessed if guessed else rep.mapped).update(mapping)
    rep.unmapped = [n for n in names if n not in used]
    rep.missing = [r for r in required_roles() if not mapping.get(r)]
    return rep


def resolve(preset: str | Preset | None, names: list[str], parents: list[str | None],
            heads: np.ndarray | None = None, tails: np.ndarray | None = None,
            up: np.ndarray | None = None) -> MappingReport:
    """Mapping for a rig: the named preset (bones the rig lacks are dropped and reported), the best
    matching preset when `preset` is None and one fits, else auto-mapping (by names, then by shape; `up`
    is the world's up axis in armature space)."""
    if preset is None:
        best = detect_preset(names)
        if best is None:
            return auto_map(names, parents, heads, tails, up)
        preset = best
    p = preset if isinstance(preset, Preset) else load_preset(preset)
    have = set(names)
    mapping = {r: [b for b in bones if b in have] for r, bones in p.bones.items()}
    mapping = {r: b for r, b in mapping.items() if b}
    root = p.root_motion if p.root_motion in have else None
    fingers, by_shape = {}, {}
    if not any(r in FINGER_ROLES for r in mapping):
        fingers = map_fingers(mapping, names, parents)
        by_shape = map_fingers_by_shape({**mapping, **fingers}, names, parents, heads)
    rep = _report(p.name, {**mapping, **fingers, **by_shape}, root, names, guessed=False)
    rep.confidence = {role: CONFIDENCE["preset"] for role in mapping}
    rep.confidence.update({role: CONFIDENCE["name"] for role in fingers})
    rep.confidence.update({role: CONFIDENCE["shape"] for role in by_shape})
    rep.guessed.update({**fingers, **by_shape})
    return rep


def detect_preset(names: list[str], min_fraction: float = 0.8) -> str | None:
    """The preset whose body bone names the rig holds most completely (None below `min_fraction`). Finger
    bones do not count: many rigs of a family come without them, and the preset still fits the body."""
    have = set(names)
    best, score = None, 0.0
    for name in list_presets():
        try:
            p = load_preset(name)
        except RigError:  # a broken user preset must not stop detection with the others
            continue
        wanted = [b for role, bones in p.bones.items() if role in ROLE_JOINTS for b in bones]
        frac = sum(b in have for b in wanted) / max(1, len(wanted))
        if frac > score:
            best, score = name, frac
    return best if score >= min_fraction else None
