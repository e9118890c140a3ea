"""Build test armatures with bpy, one per rig preset (we cannot ship third-party characters).

Bone names come from the preset file; the rest pose is a plausible 1.75 m adult, in T-pose or A-pose,
with a slightly curved spine and random bone rolls, so tests catch solvers that silently depend on a
particular rest pose or roll. `build_bvh_rig` builds the exact skeleton of a BVH file (for "same
skeleton" round trips) with its arms lowered into an A-pose and random rolls.
Import only inside a bpy process.
"""
from __future__ import annotations

import json
from pathlib import Path

import bpy
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _joints(pose: str) -> dict[str, np.ndarray]:
    """Canonical rest joints in metres: Z up, facing -Y, left side at +X."""
    j = {"hips": (0, 0, 0.95), "spine_base": (0, 0.005, 1.0), "neck": (0, 0.02, 1.45),
         "head_base": (0, 0.0, 1.55), "head_top": (0, 0.0, 1.75)}
    for s, x in (("l", 1.0), ("r", -1.0)):
        j.update({f"hip_{s}": (0.09 * x, 0, 0.93), f"knee_{s}": (0.10 * x, -0.01, 0.50),
                  f"ankle_{s}": (0.10 * x, 0.02, 0.08), f"toe_{s}": (0.10 * x, -0.11, 0.02),
                  f"toe_tip_{s}": (0.10 * x, -0.17, 0.02), f"clavicle_{s}": (0.02 * x, 0.0, 1.42),
                  f"shoulder_{s}": (0.18 * x, 0.02, 1.42)})
        reach = {"elbow": 0.27, "wrist": 0.52, "hand_tip": 0.62}
        ang = np.radians(0 if pose == "T" else 45)
        for name, r in reach.items():
            bend = -0.01 if name != "elbow" else 0.0  # a hint of elbow bend forwards
            j[f"{name}_{s}"] = (0.18 * x + x * r * np.cos(ang), 0.02 + bend, 1.42 - r * np.sin(ang))
    return {k: np.array(v, dtype=float) for k, v in j.items()}


ROLE_SEG = {"spine": ("spine_base", "neck"), "neck": ("neck", "head_base"), "head": ("head_base", "head_top")}
for _s in "lr":
    _S = _s.upper()
    ROLE_SEG.update({f"clavicle.{_S}": (f"clavicle_{_s}", f"shoulder_{_s}"),
                     f"upper_arm.{_S}": (f"shoulder_{_s}", f"elbow_{_s}"),
                     f"forearm.{_S}": (f"elbow_{_s}", f"wrist_{_s}"), f"hand.{_S}": (f"wrist_{_s}", f"hand_tip_{_s}"),
                     f"thigh.{_S}": (f"hip_{_s}", f"knee_{_s}"), f"shin.{_S}": (f"knee_{_s}", f"ankle_{_s}"),
                     f"foot.{_S}": (f"ankle_{_s}", f"toe_{_s}"), f"toe.{_S}": (f"toe_{_s}", f"toe_tip_{_s}")})


def load_preset(name: str) -> dict:
    return json.loads((REPO / "core" / "posebake_core" / "rigs" / f"{name}.json").read_text())


def _new_armature(name: str):
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    return obj, data


#: finger geometry in the hand's own axes (along the hand, towards the thumb side, out of the back of the
#: hand), metres: knuckle offsets and phalanx lengths of an adult hand
FINGER_BASES = {"thumb": (0.02, 0.025, -0.012), "index": (0.09, 0.03, 0.0), "middle": (0.095, 0.008, 0.0),
                "ring": (0.09, -0.012, 0.0), "pinky": (0.08, -0.03, 0.0)}
FINGER_LENGTHS = {"thumb": (0.045, 0.035, 0.03), "index": (0.045, 0.025, 0.022), "middle": (0.05, 0.03, 0.024),
                  "ring": (0.047, 0.028, 0.023), "pinky": (0.038, 0.02, 0.019)}


def _add_fingers(add, bones: dict[str, list[str]], j: dict[str, np.ndarray], S: str) -> None:
    """Three bones per finger the preset names, under its hand bone, palm down, thumb forwards; a slight
    curl so each finger has a bend plane of its own."""
    s = S.lower()
    along = j[f"hand_tip_{s}"] - j[f"wrist_{s}"]
    along = along / np.linalg.norm(along)
    side = np.array([0.0, -1.0, 0.0])  # towards the thumb: forwards (-Y) for a palm-down T or A pose
    side = side - (side @ along) * along
    side /= np.linalg.norm(side)
    back = np.cross(along, side) * (1 if S == "R" else -1)
    back = back if back[2] >= 0 else -back  # out of the back of the hand: up for a palm-down hand
    for f, base in FINGER_BASES.items():
        names = [bones.get(f"{f}_{k}.{S}", [None])[0] for k in (1, 2, 3)]
        if not all(names):
            continue
        p = j[f"wrist_{s}"] + base[0] * along + base[1] * side + base[2] * back
        d = along if f != "thumb" else (along + side) / np.linalg.norm(along + side) - 0.15 * back
        parent = bones[f"hand.{S}"][-1]
        for k, (bname, length) in enumerate(zip(names, FINGER_LENGTHS[f])):
            d = d - 0.05 * back  # a curl of a few degrees per joint
            d = d / np.linalg.norm(d)
            q = p + length * d
            add(bname, p, q, parent)
            p, parent = q, bname


def build_rig(preset: str, pose: str = "T", seed: int = 0, name: str | None = None, fingers: bool = False):
    """An armature named after `preset` with its bones in a humanoid rest pose; returns the object. With
    `fingers`, the finger bones the preset maps are built too (three per finger)."""
    p = load_preset(preset)
    bones = {r: ([v] if isinstance(v, str) else v) for r, v in p["bones"].items()}
    j = _joints(pose)
    rng = np.random.default_rng(seed)
    obj, data = _new_armature(name or f"rig_{preset}")
    eb = data.edit_bones
    made: dict[str, object] = {}

    def add(bname: str, head, tail, parent=None):
        b = eb.new(bname)
        b.head, b.tail = tuple(head), tuple(tail)
        b.roll = float(rng.uniform(-np.pi, np.pi))
        if parent is not None:
            b.parent = made[parent]
        made[bname] = b
        return b

    top = None
    if p.get("root_motion"):  # Rigify-like: root -> torso -> (hips, spine)
        add("root", (0, 0, 0), (0, 0.3, 0))
        add(p["root_motion"], j["spine_base"], j["spine_base"] + (0, 0.25, 0), "root")
        top = p["root_motion"]
    pel = bones["pelvis"][0]
    if preset == "rigify":
        add(pel, j["spine_base"], j["hips"] - (0, 0, 0.08), top)
    else:
        add(pel, j["hips"], j["hips"] + (0, 0, 0.1), top)
    for role in ["spine", "neck", "head"] + [f"{k}.{S}" for S in "LR" for k in
                                            ("clavicle", "upper_arm", "forearm", "hand", "thigh", "shin", "foot", "toe")]:
        chain = bones.get(role)
        if not chain:
            continue
        a, b = (j[x] for x in ROLE_SEG[role])
        parent = {"spine": top if top else pel, "neck": bones["spine"][-1], "head": bones["neck"][-1]}.get(role)
        if parent is None:
            kind, S = role.split(".")
            prev = {"clavicle": None, "upper_arm": "clavicle", "forearm": "upper_arm", "hand": "forearm",
                    "thigh": None, "shin": "thigh", "foot": "shin", "toe": "foot"}[kind]
            parent = bones[f"{prev}.{S}"][-1] if prev else (bones["spine"][-1] if kind == "clavicle" else pel)
        n = len(chain)
        pts = [a + (b - a) * k / n for k in range(n + 1)]
        if role == "spine":  # a gentle S-curve, as real rigs have
            for k in range(1, n):
                pts[k] = pts[k] + (0, 0.02 * np.sin(np.pi * k / n), 0)
        for k, bname in enumerate(chain):
            add(bname, pts[k], pts[k + 1], parent)
            parent = bname
    for S in "LR":  # an unmapped finger bone under each hand
        hand = bones.get(f"hand.{S}", [None])[-1]
        if hand and fingers:
            _add_fingers(add, bones, j, S)
        elif hand:
            h = made[hand]
            d = np.array(h.tail) - np.array(h.head)
            add(f"finger_extra.{S}", h.tail, np.array(h.tail) + 0.5 * d, hand)
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def build_bvh_rig(names, parents, rest_pos, arm_down_deg: float = 50.0, seed: int = 0, name: str = "bvh_rig"):
    """The BVH skeleton itself (rest joint positions (J,3), Z up, metres, end sites dropped), arms lowered
    by `arm_down_deg` about the forward axis at each shoulder, random rolls. Bone tails point at the
    mean of the child joints (or along the parent when there are none)."""
    rng = np.random.default_rng(seed)
    pos = np.array(rest_pos, dtype=float)
    kids = {i: [k for k, p in enumerate(parents) if p == i] for i in range(len(names))}

    def subtree(i):
        out = [i]
        for k in kids[i]:
            out += subtree(k)
        return out
    for side, sgn in (("Left", 1.0), ("Right", -1.0)):
        upper = f"{side}Arm" if f"{side}ForeArm" in names else f"{side}Shoulder"  # the two cgspeed namings
        if upper in names:
            i = names.index(upper)
            c = pos[i].copy()
            a = np.radians(arm_down_deg) * sgn
            R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
            for k in subtree(i):
                pos[k] = c + R @ (pos[k] - c)
    obj, data = _new_armature(name)
    made = {}
    for i, n in enumerate(names):
        if n.endswith("_End"):
            continue
        ch = [k for k in kids[i] if np.linalg.norm(pos[k] - pos[i]) > 1e-6]
        if ch:
            tail = pos[ch].mean(0)
        else:
            p = parents[i]
            d = pos[i] - pos[p] if p >= 0 and np.linalg.norm(pos[i] - pos[p]) > 1e-6 else np.array([0, 0, 0.05])
            tail = pos[i] + 0.05 * d / np.linalg.norm(d)
        b = data.edit_bones.new(n)
        b.head, b.tail = tuple(pos[i]), tuple(tail)
        b.roll = float(rng.uniform(-np.pi, np.pi))
        if parents[i] >= 0:
            b.parent = made[names[parents[i]]]
        made[n] = b
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def remove_legs(rig) -> None:
    """Delete the leg, foot and toe bones: a rig with too few mappable bones, for the refusal tests."""
    import bpy

    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    for b in list(rig.data.edit_bones):
        if any(k in b.name for k in ("Leg", "Foot", "Toe")):
            rig.data.edit_bones.remove(b)
    bpy.ops.object.mode_set(mode="OBJECT")
