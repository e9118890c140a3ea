"""A VRM file's humanoid table as the rig's mapping (addon/posebake_blender/vrm.py), and the VRoid preset:
the real Godette VRM 0.x file, and small VRM 1.0 / plain glTF / broken files written here."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from posebake_core.retarget.fingers import FINGER_ROLES
from posebake_blender.rigs import RigError, detect_preset, load_preset, resolve
from posebake_blender.vrm import human_bones, humanoid_preset


def glb(path: Path, doc: dict) -> Path:
    body = json.dumps(doc).encode()
    body += b" " * (-len(body) % 4)
    path.write_bytes(b"glTF" + struct.pack("<II", 2, 20 + len(body)) + struct.pack("<II", len(body), 0x4E4F534A)
                     + body)
    return path


def test_godette_maps_every_body_role_and_four_fingers(data_dir: Path) -> None:
    p = humanoid_preset(data_dir / "characters" / "godette_vrm_v4.vrm")
    assert p is not None and p.name == "vrm-humanoid"
    b = p.bones
    assert b["pelvis"] == ["pelvis_Armature"] and b["spine"] == ["tummy_Armature", "chest_Armature"]
    assert b["upper_arm.L"] == ["upper_arm.l_Armature"] and b["forearm.R"] == ["lowerarm.r_Armature"]
    assert b["toe.L"] == ["toes.l_Armature"] and b["clavicle.R"] == ["shoulder.r_Armature"]
    # VRM 0.x thumb Proximal/Intermediate/Distal are the metacarpal, proximal and distal bones
    assert [b[f"thumb_{k}.L"] for k in (1, 2, 3)] == [["thumb.1.l_Armature"], ["thumb.2.l_Armature"],
                                                      ["thumb.3.l_Armature"]]
    assert [b[f"index_{k}.R"] for k in (1, 2, 3)] == [["Finger.r_Armature"], ["Finger.001.r_Armature"],
                                                      ["Finger.002.r_Armature"]]
    assert b["pinky_3.L"] == ["f3c.l_Armature"] and "ring_1.L" not in b  # four fingers: no ring
    assert sum(r in FINGER_ROLES for r in b) == 24
    # the table resolves on the rig's own bone names (Blender names bones after glTF nodes)
    names = [n for bones in b.values() for n in bones] + ["Armature_rootJoint"]
    parents = [None] * len(names)
    rep = resolve(p, names, parents)
    assert not rep.missing and rep.preset == "vrm-humanoid"


def test_vrm1_thumb_starts_at_the_metacarpal(tmp_path: Path) -> None:
    roles = ["hips", "spine", "leftThumbMetacarpal", "leftThumbProximal", "leftThumbDistal", "leftIndexProximal",
             "leftIndexIntermediate", "leftIndexDistal"]
    doc = {"asset": {"version": "2.0"}, "nodes": [{"name": f"n_{r}"} for r in roles],
           "extensions": {"VRMC_vrm": {"humanoid": {"humanBones": {r: {"node": i} for i, r in enumerate(roles)}}}}}
    p = humanoid_preset(glb(tmp_path / "a.vrm", doc))
    assert p.bones["thumb_1.L"] == ["n_leftThumbMetacarpal"] and p.bones["thumb_3.L"] == ["n_leftThumbDistal"]
    assert p.bones["index_1.L"] == ["n_leftIndexProximal"] and p.bones["index_2.L"] == ["n_leftIndexIntermediate"]
    assert human_bones(tmp_path / "a.vrm")[1] == 1


def test_not_a_vrm(tmp_path: Path) -> None:
    assert humanoid_preset(glb(tmp_path / "plain.vrm", {"asset": {"version": "2.0"}, "nodes": []})) is None
    (tmp_path / "junk.vrm").write_bytes(b"not a gltf at all")
    with pytest.raises(RigError, match="not a glTF binary"):
        humanoid_preset(tmp_path / "junk.vrm")


def test_vroid_names_pick_the_vroid_preset() -> None:
    p = load_preset("vroid")
    names = [n for bones in p.bones.values() for n in bones] + ["Root", "J_Sec_Hair1_01"]
    assert detect_preset(names) == "vroid"
    rep = resolve(None, names, [None] * len(names))
    assert rep.preset == "vroid" and not rep.missing
    assert rep.mapping["pinky_1.L"] == ["J_Bip_L_Little1"] and rep.mapping["thumb_3.R"] == ["J_Bip_R_Thumb3"]
