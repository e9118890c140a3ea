"""Map a rig's bones to the canonical roles by its shape when the names do not help (unnamed joints).

A humanoid skeleton has one telling branch: the pelvis, from which two chains go down (the legs) and one
goes up (the spine). The spine goes up to the chest, where two chains go sideways (the arms) and one goes
on up (neck and head). Along a leg the thigh and shin are the first two long bones and the foot and toe
follow; along an arm the hand is the bone the fingers branch from (or the last). Left and right follow
from the up axis and the way the feet point: a character's left is up x forward.

Pure numpy; `rigs.auto_map` uses it for the roles the names left open.
"""
from __future__ import annotations

import numpy as np

from ..rot import normalize

#: a chain counts as going down/up from a bone when its subtree reaches this fraction of the rig's height
#: below/above the bone (legs span about half the height, the spine a third: well clear of these)
REACH = 0.2
#: a bone shorter than this fraction of the height is an end marker or a helper, not a body segment
TINY = 0.02
#: a thigh is at least this fraction of the rig's height (adult thighs are about a quarter; the hip-offset
#: bones some skeletons put before them, CMU's LHipJoint, about a twentieth)
LIMB = 0.12


class _Tree:
    def __init__(self, names: list[str], parents: list[str | None], heads: np.ndarray, tails: np.ndarray,
                 up: np.ndarray) -> None:
        self.names = list(names)
        self.index = {n: i for i, n in enumerate(names)}
        self.parent = [self.index.get(p, -1) if p is not None else -1 for p in parents]
        self.kids: list[list[int]] = [[] for _ in names]
        for i, p in enumerate(self.parent):
            if p >= 0:
                self.kids[p].append(i)
        self.heads, self.tails = np.asarray(heads, float), np.asarray(tails, float)
        self.up = normalize(np.asarray(up, float))
        pts = np.concatenate([self.heads, self.tails])
        self.h = self.heads @ self.up
        self.height = float(np.ptp(pts @ self.up)) or 1.0
        self.sub = [self._subtree(i) for i in range(len(names))]

    def _subtree(self, i: int) -> list[int]:
        out, stack = [], [i]
        while stack:
            j = stack.pop()
            out.append(j)
            stack.extend(self.kids[j])
        return out

    def low(self, i: int) -> float:
        return float(min(self.h[self.sub[i]].min(), (self.tails[self.sub[i]] @ self.up).min()))

    def high(self, i: int) -> float:
        return float(max(self.h[self.sub[i]].max(), (self.tails[self.sub[i]] @ self.up).max()))

    def length(self, i: int) -> float:
        return float(np.linalg.norm(self.tails[i] - self.heads[i]))

    def direction(self, i: int) -> np.ndarray:
        return normalize(self.tails[i] - self.heads[i])

    def main_chain(self, i: int, keep_tiny: bool = False) -> list[int]:
        """Bone i and, each step, the child with the largest subtree (the limb, not a helper); without
        the tiny bones (end markers, zero-length joints) unless `keep_tiny`."""
        chain = [i]
        while self.kids[chain[-1]]:
            chain.append(max(self.kids[chain[-1]], key=lambda k: len(self.sub[k])))
        if keep_tiny:
            return chain
        return [b for b in chain if self.length(b) > TINY * self.height] or chain[:1]


def _pelvis(t: _Tree) -> tuple[int, list[int], int] | None:
    """(pelvis, two leg roots, spine root): the shallowest bone with two chains down and one up."""
    best = None
    for i in range(len(t.names)):
        down = [k for k in t.kids[i] if t.low(k) < t.h[i] - REACH * t.height]
        up = [k for k in t.kids[i] if t.high(k) > t.h[i] + REACH * t.height]
        down = [k for k in down if k not in up]
        if len(down) >= 2 and up:
            depth, p = 0, t.parent[i]
            while p >= 0:
                depth, p = depth + 1, t.parent[p]
            legs = sorted(down, key=lambda k: t.low(k))[:2]
            cand = (depth, i, legs, max(up, key=lambda k: t.high(k)))
            if best is None or cand[0] < best[0]:
                best = cand
    return None if best is None else best[1:]


def _leg(t: _Tree, root: int) -> dict[str, int]:
    """Thigh and shin are the first two long bones of the chain (hip-offset helpers are short); the foot
    and toe follow them."""
    chain = t.main_chain(root)
    first = next((k for k, b in enumerate(chain) if t.length(b) >= LIMB * t.height), 0)
    roles = ("thigh", "shin", "foot", "toe")
    return {role: chain[first + k] for k, role in enumerate(roles) if first + k < len(chain)}


def _arm(t: _Tree, root: int) -> dict[str, int]:
    """The hand is the first bone the fingers branch from (two or more children; a zero-length wrist
    joint counts), else the chain's last long bone; forearm, upper arm and clavicle are the long bones
    before it."""
    raw = t.main_chain(root, keep_tiny=True)
    long = [b for b in raw if t.length(b) > TINY * t.height]
    branch = next((b for b in raw if len(t.kids[b]) >= 2), None)
    if branch is not None:
        hand = branch
        before = [b for b in long if raw.index(b) < raw.index(branch)]
    else:
        hand, before = (long or raw)[-1], (long or raw)[:-1]
    out = {"hand": hand}
    for role, b in zip(("forearm", "upper_arm", "clavicle"), reversed(before)):
        out[role] = b
    return out


def map_by_topology(names: list[str], parents: list[str | None], heads: np.ndarray, tails: np.ndarray,
                    up: np.ndarray) -> dict[str, list[str]]:
    """Role -> bone names found from the shape alone ({} when no pelvis-like branch exists). `up` is the
    world's up axis in the same (armature) space as `heads` and `tails`."""
    t = _Tree(names, parents, heads, tails, up)
    found = _pelvis(t)
    if found is None:
        return {}
    pelvis, leg_roots, spine_root = found
    legs = [_leg(t, r) for r in leg_roots]
    # forward: where the feet point, across the up axis; the character's left is up x forward
    fwd = np.zeros(3)
    for leg in legs:
        if "foot" in leg:  # ankle to the toe joints (bone tails of imported rigs are guesses, heads are not)
            rest = [k for k in t.sub[leg["foot"]] if k != leg["foot"]]
            d = (t.heads[rest].mean(0) - t.heads[leg["foot"]]) if rest else t.direction(leg["foot"])
            fwd += d - (d @ t.up) * t.up
    left = normalize(np.cross(t.up, normalize(fwd))) if np.linalg.norm(fwd) > 1e-9 else None
    out: dict[str, list[str]] = {"pelvis": [names[pelvis]]}

    def side(i: int) -> str:
        if left is None:  # feet gave no direction: the first found leg/arm is taken as left
            return ""
        return "L" if (t.heads[t.sub[i]].mean(0) - t.heads[pelvis]) @ left > 0 else "R"

    leg_sides = [side(r) for r in leg_roots]
    if left is None or leg_sides[0] == leg_sides[1]:
        leg_sides = ["L", "R"]
    for leg, S in zip(legs, leg_sides):
        for role, b in leg.items():
            out[f"{role}.{S}"] = [names[b]]
    # spine: up from the pelvis to the bone where the arms branch off
    spine, chest = [], None
    b = spine_root
    while True:
        spine.append(b)
        lateral = [k for k in t.kids[b] if t.high(k) < t.high(b) and len(t.sub[k]) >= 3]
        ups = [k for k in t.kids[b] if k not in lateral]
        if len(lateral) >= 2 or not ups:
            chest = b
            break
        b = max(ups, key=lambda k: len(t.sub[k]))
    out["spine"] = [names[i] for i in spine]
    arms = sorted([k for k in t.kids[chest] if t.high(k) < t.high(chest) and len(t.sub[k]) >= 3],
                  key=lambda k: len(t.sub[k]), reverse=True)[:2]
    arm_sides = [side(r) for r in arms]
    if len(arms) == 2 and (left is None or arm_sides[0] == arm_sides[1]):
        arm_sides = ["L", "R"]
    for root, S in zip(arms, arm_sides):
        for role, i in _arm(t, root).items():
            out[f"{role}.{S}"] = [names[i]]
    heads_up = [k for k in t.kids[chest] if k not in arms]
    if heads_up:
        chain = t.main_chain(max(heads_up, key=lambda k: t.high(k)))
        out["head"] = [names[chain[-1]]]
        if len(chain) > 1:
            out["neck"] = [names[i] for i in chain[:-1]]
    return out
