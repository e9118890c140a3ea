"""A VRM file's own humanoid table as a rig preset: the file says which bone is which, so nothing is guessed.

VRM (https://github.com/vrm-c/vrm-specification) is glTF binary whose extension lists the humanoid bones by
role: VRM 0.x as `extensions.VRM.humanoid.humanBones`, a list of {bone, node}; VRM 1.0 as
`extensions.VRMC_vrm.humanoid.humanBones`, a map role -> {node}. Blender's glTF importer ignores the
extension but names each bone after its node, so node names are the rig's bone names. No bpy here.

The thumb's names moved between the versions: VRM 0.x's thumb "Proximal, Intermediate, Distal" are VRM
1.0's "Metacarpal, Proximal, Distal", the same three bones; our thumb roles start at the metacarpal.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

from .rigs import Preset, RigError

_BODY = {"hips": "pelvis", "neck": "neck", "head": "head"}
_SPINE = ("spine", "chest", "upperChest")
_LIMBS = {"Shoulder": "clavicle", "UpperArm": "upper_arm", "LowerArm": "forearm", "Hand": "hand",
          "UpperLeg": "thigh", "LowerLeg": "shin", "Foot": "foot", "Toes": "toe"}
_FINGERS = {"Thumb": "thumb", "Index": "index", "Middle": "middle", "Ring": "ring", "Little": "pinky"}
_PHALANX = {"Proximal": 1, "Intermediate": 2, "Distal": 3}  # every finger; the thumb too in VRM 0.x
_THUMB_1X = {"Metacarpal": 1, "Proximal": 2, "Distal": 3}  # VRM 1.0's thumb


def _gltf_json(path: Path) -> dict:
    data = path.read_bytes()
    if data[:4] != b"glTF" or len(data) < 20:
        raise RigError(f"{path.name}: not a glTF binary (a .vrm is one)")
    length, kind = struct.unpack_from("<II", data, 12)
    if kind != 0x4E4F534A:  # "JSON"
        raise RigError(f"{path.name}: the first glTF chunk is not JSON")
    try:
        return json.loads(data[20:20 + length])
    except ValueError as exc:
        raise RigError(f"{path.name}: unreadable glTF JSON: {exc}") from None


def human_bones(path: str | Path) -> tuple[dict[str, str], int] | None:
    """{VRM role: node name} and the VRM major version (0 or 1), or None when the file has no humanoid."""
    js = _gltf_json(Path(path))
    ext, nodes = js.get("extensions") or {}, js.get("nodes") or []

    def name(i) -> str | None:
        return nodes[i].get("name") if isinstance(i, int) and 0 <= i < len(nodes) else None

    if "VRMC_vrm" in ext:
        table = (ext["VRMC_vrm"].get("humanoid") or {}).get("humanBones") or {}
        out = {role: name(v.get("node")) for role, v in table.items() if isinstance(v, dict)}
        version = 1
    elif "VRM" in ext:
        table = (ext["VRM"].get("humanoid") or {}).get("humanBones") or []
        out = {h.get("bone"): name(h.get("node")) for h in table if isinstance(h, dict)}
        version = 0
    else:
        return None
    out = {r: n for r, n in out.items() if r and n}
    return (out, version) if out else None


def humanoid_preset(path: str | Path) -> Preset | None:
    """The file's humanoid table as a Preset (roles the file does not list are left to auto-mapping's
    finger search and the rest pose), or None when it is not a VRM humanoid."""
    found = human_bones(path)
    if found is None:
        return None
    table, version = found
    bones: dict[str, list[str]] = {}
    for vrm, role in _BODY.items():
        if vrm in table:
            bones[role] = [table[vrm]]
    spine = [table[s] for s in _SPINE if s in table]
    if spine:
        bones["spine"] = spine
    for side, S in (("left", "L"), ("right", "R")):
        for part, role in _LIMBS.items():
            if f"{side}{part}" in table:
                bones[f"{role}.{S}"] = [table[f"{side}{part}"]]
        for part, finger in _FINGERS.items():
            order = _THUMB_1X if (finger == "thumb" and version == 1) else _PHALANX
            for word, k in order.items():
                bone = table.get(f"{side}{part}{word}")
                if bone and f"{finger}_{k}.{S}" not in bones:
                    bones[f"{finger}_{k}.{S}"] = [bone]
    return Preset("vrm-humanoid", f"VRM humanoid table ({Path(path).name})", bones,
                  notes=f"read from the file's VRM {version}.x humanoid extension")
