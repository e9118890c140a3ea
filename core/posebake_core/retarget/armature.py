"""A target armature's rest pose as plain arrays, and the canonical joints it implies.

bpy is never imported here: the glue reads `bone.head_local`, `tail_local` and `matrix_local` into a
`RestPose`, so the solver sees the same data in Blender and in tests. Rest matrices carry each bone's roll,
which is why the solver can ignore roll entirely: it only ever composes rotations with these matrices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .canonical import ANCHOR_ROLES, ROLE_JOINTS, SIDES, TRUNK_ROLES, synthesize_missing
from .fingers import FINGER_ROLES


@dataclass
class RestPose:
    """Bones in armature space; parents always precede children (the constructor reorders)."""

    names: list[str]
    parents: np.ndarray   # (B,) index of the parent, -1 for roots
    heads: np.ndarray     # (B,3)
    tails: np.ndarray     # (B,3)
    matrices: np.ndarray  # (B,3,3) rest orientation (columns: bone x, y along the bone, z)

    @classmethod
    def from_parent_names(cls, names: list[str], parent_names: list[str | None], heads, tails,
                          matrices) -> "RestPose":
        """Build from parent *names* in any order; sorts topologically so FK can run in one pass."""
        index = {n: i for i, n in enumerate(names)}
        order: list[int] = []
        placed: set[int] = set()

        def place(i: int) -> None:
            if i in placed:
                return
            p = parent_names[i]
            if p is not None:
                place(index[p])
            placed.add(i)
            order.append(i)

        for i in range(len(names)):
            place(i)
        pos = {old: new for new, old in enumerate(order)}
        parents = np.array([pos[index[parent_names[i]]] if parent_names[i] is not None else -1 for i in order])
        return cls([names[i] for i in order], parents, np.asarray(heads, float)[order],
                   np.asarray(tails, float)[order], np.asarray(matrices, float)[order])

    def index(self, name: str) -> int:
        return self.names.index(name)


def rest_joints(rest: RestPose, mapping: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Canonical joint positions of the rig's rest pose: a role's head joint is its first bone's head,
    its tail joint (if no role starts there) its last bone's tail. Missing points are synthesised."""
    j: dict[str, np.ndarray] = {}
    for role, bones in mapping.items():
        if role in ROLE_JOINTS and bones and role != "pelvis":
            j[ROLE_JOINTS[role][0]] = rest.heads[rest.index(bones[0])].copy()
    for role, bones in mapping.items():
        if role in ROLE_JOINTS and bones and role != "pelvis":
            j.setdefault(ROLE_JOINTS[role][1], rest.tails[rest.index(bones[-1])].copy())
    j["hips"] = (j["hip_l"] + j["hip_r"]) / 2
    if "spine_base" not in j:
        j["spine_base"] = rest.heads[rest.index(mapping["pelvis"][0])].copy()
    if "neck" not in j:
        j["neck"] = (j["shoulder_l"] + j["shoulder_r"]) / 2
    synthesize_missing(j)
    return j


def is_under(rest: RestPose, i: int, anc: int) -> bool:
    """Bone i is `anc` or one of its descendants."""
    while i >= 0:
        if i == anc:
            return True
        i = int(rest.parents[i])
    return False


def detached_bones(rest: RestPose, mapping: dict[str, list[str]]) -> dict[int, int]:
    """{bone: anchor bone} for mapped bones that do not hang from the bone carrying their head joint
    (`canonical.ANCHOR_ROLES`): IK-style feet and hands parented to the root, thighs parented beside the
    pelvis. The solve drives their heads to where the anchor puts them, with location keys."""
    out: dict[int, int] = {}
    for role, bones in mapping.items():
        anchor_role = next((r for r in ANCHOR_ROLES.get(role, ()) if mapping.get(r)), None)
        if not bones or anchor_role is None:
            continue
        first, anchor = rest.index(bones[0]), rest.index(mapping[anchor_role][-1])
        if first != anchor and not is_under(rest, first, anchor):
            out[first] = anchor
    return out


def translation_bone(rest: RestPose, mapping: dict[str, list[str]]) -> int:
    """The bone that carries root motion: the deepest common ancestor of the pelvis, spine and thigh bones
    (the pelvis itself on most rigs; the body bone above both on rigs whose legs hang beside the pelvis)."""
    chains = []
    for role in TRUNK_ROLES:
        for b in mapping.get(role, [])[:1]:
            i, chain = rest.index(b), []
            while i >= 0:
                chain.append(i)
                i = int(rest.parents[i])
            chains.append(chain[::-1])
    common = None
    for level in zip(*chains):
        if len(set(level)) != 1:
            break
        common = level[0]
    return rest.index(mapping["pelvis"][0]) if common is None else int(common)


def fk_heads(rest: RestPose, full: np.ndarray, tb: int, delta: np.ndarray,
             anchors: dict[int, int] | None = None) -> np.ndarray:
    """Posed bone heads (T,B,3) from world rotations `full` (T,B,3,3): head_b = head_parent + D_parent @
    (rest offset); bone `tb` (the translated one) is moved by `delta` (T,3); a detached bone (`anchors`,
    see `detached_bones`) is carried by its anchor instead of its parent, and its children follow it."""
    T, B = full.shape[:2]
    heads = np.zeros((T, B, 3))
    for i in range(B):
        p = rest.parents[i]
        heads[:, i] = rest.heads[i] if p < 0 else heads[:, p] + full[:, p] @ (rest.heads[i] - rest.heads[p])
        if i == tb:
            heads[:, i] += delta
    # A detached bone's anchor may itself hang below another detached bone (an IK foot under the root,
    # anchored to a shin whose thigh hangs beside the pelvis) and come later in the parent order, so the
    # re-placing pass runs once per detached bone: each pass settles one more link of such a chain.
    for _ in range(len(anchors or ())):
        moved: set[int] = set()
        for i in range(B):
            p = int(rest.parents[i])
            if i in anchors:
                a = anchors[i]
                heads[:, i] = heads[:, a] + full[:, a] @ (rest.heads[i] - rest.heads[a])
                moved.add(i)
            elif p in moved:
                heads[:, i] = heads[:, p] + full[:, p] @ (rest.heads[i] - rest.heads[p])
                moved.add(i)
    return heads


def detached_locations(rest: RestPose, full: np.ndarray, heads: np.ndarray,
                       anchors: dict[int, int]) -> dict[str, np.ndarray]:
    """Pose-bone locations (T,3) that put each detached bone's head where `heads` has it: the offset from
    where its own parent carries it, in the bone's rest frame (Blender: P_b = P_parent R_parent^-1 R_b T(L))."""
    out = {}
    for i in anchors:
        p = int(rest.parents[i])
        if p < 0:
            natural = np.broadcast_to(rest.heads[i], heads[:, i].shape)
            d_parent = np.broadcast_to(np.eye(3), full[:, i].shape)
        else:
            natural = heads[:, p] + full[:, p] @ (rest.heads[i] - rest.heads[p])
            d_parent = full[:, p]
        off = heads[:, i] - natural
        # L = R_i^T D_parent^T off, as rows
        out[rest.names[i]] = np.einsum("tj,tjk,kl->tl", off, d_parent, rest.matrices[i])
    return out


def rest_chain(rest: RestPose, bones: list[str], tail: np.ndarray) -> list[np.ndarray]:
    """Rest polyline of a mapped chain: each bone's head, then the chain's tail joint."""
    return [rest.heads[rest.index(b)] for b in bones] + [tail]


def rest_finger_joints(rest: RestPose, mapping: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """The finger joints of the rig's rest pose (`fingers.FINGER_ROLES`): each role's first bone's head;
    a finger's tip, which no bone starts at, is where its last bone's child starts (the `_end`/leaf bone many
    exporters add), else that bone's length along the finger's previous segment. Not the bone's tail: glTF
    has no tails, and importers guess them (Godette's all point up)."""
    j: dict[str, np.ndarray] = {}
    for role, bones in mapping.items():
        if role in FINGER_ROLES and bones:
            j[FINGER_ROLES[role][0]] = rest.heads[rest.index(bones[0])].copy()
    for role, bones in mapping.items():
        tip = FINGER_ROLES.get(role, (None, None))[1]
        if not bones or tip is None or tip in j:
            continue
        i = rest.index(bones[-1])
        kids = np.flatnonzero(rest.parents == i)
        head = rest.heads[i]
        prev = FINGER_ROLES[role][0][:-3] + str(int(FINGER_ROLES[role][0][-3]) - 1) + FINGER_ROLES[role][0][-2:]
        if len(kids) == 1 and np.linalg.norm(rest.heads[kids[0]] - head) > 1e-6:
            j[tip] = rest.heads[kids[0]].copy()
        elif prev in j and np.linalg.norm(head - j[prev]) > 1e-6:
            along = (head - j[prev]) / np.linalg.norm(head - j[prev])
            j[tip] = head + np.linalg.norm(rest.tails[i] - head) * along
        else:
            j[tip] = rest.tails[i].copy()
    return j


def required_roles() -> tuple[str, ...]:
    """Roles without which a bake is refused (the body would be left half in its rest pose)."""
    out = ["pelvis", "spine"]
    for s in SIDES:
        S = s.upper()
        out += [f"thigh.{S}", f"shin.{S}", f"upper_arm.{S}", f"forearm.{S}"]
    return tuple(out)
