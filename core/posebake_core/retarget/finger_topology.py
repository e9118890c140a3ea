"""Find a hand's finger chains by shape when their names say nothing ("Bone.031", "joint_57").

A hand bone has one chain per finger hanging from it. The four fingers point the same way and sit side by
side across the palm; the thumb points off at an angle of its own and sits at one end of that row, next to
the index. So: follow each chain from the hand (at a branch, the child with the larger subtree), drop a
metacarpal (a first bone that starts near the wrist, as UE5's and many game rigs' have), keep three
phalanges (the thumb keeps its metacarpal: our thumb roles start there); the thumb is the chain whose
direction strays most from the others', and the rest are index, middle, ring, pinky in order of distance
from the thumb. A four-finger cartoon hand (thumb and three) is read as index, middle, pinky. Pure numpy, rest positions only (bone heads: tails are guessed by importers).
"""
from __future__ import annotations

import numpy as np

#: a first bone whose head is within this fraction of the chain's reach (hand head to last head) from the
#: hand's head starts at the wrist: a metacarpal, not a phalanx (phalanges start at the knuckles, ~45-55 %
#: of the reach along a finger)
METACARPAL_REACH = 0.3
FOUR = ("index", "middle", "ring", "pinky")
THREE = ("index", "middle", "pinky")


def finger_chains(hand: str, names: list[str], parents: list[str | None],
                  heads: np.ndarray) -> list[tuple[list[str], list[str]]]:
    """Per chain of at least three bones below `hand`: (its first three bones, its first three after a
    metacarpal). A finger's roles are its phalanges; the thumb's start at its metacarpal (MediaPipe's
    thumb runs from the CMC joint), so it keeps its first three."""
    index = {n: i for i, n in enumerate(names)}
    kids: dict[str, list[str]] = {n: [] for n in names}
    for n, p in zip(names, parents):
        if p is not None and p in kids:
            kids[p].append(n)

    def size(n: str) -> int:
        return 1 + sum(size(k) for k in kids[n])

    base = np.asarray(heads[index[hand]], float)
    out = []
    for first in kids.get(hand, []):
        chain = [first]
        while kids[chain[-1]]:
            chain.append(max(kids[chain[-1]], key=size))
        pts = np.array([heads[index[b]] for b in chain], float)
        reach = np.linalg.norm(pts[-1] - base)
        phalanges = chain
        if len(chain) >= 4 and reach > 0 and np.linalg.norm(pts[0] - base) < METACARPAL_REACH * reach:
            phalanges = chain[1:]
        if len(phalanges) >= 3:
            out.append((chain[:3], phalanges[:3]))
    return out


def fingers_by_shape(hand: str, side: str, names: list[str], parents: list[str | None],
                     heads: np.ndarray) -> dict[str, list[str]]:
    """Finger roles (`index_1.L` ...) of one hand from its chains' shape; {} when the hand does not have a
    thumb and at least three fingers to tell apart."""
    chains = finger_chains(hand, names, parents, heads)
    if len(chains) < 4 or len(chains) > 5:
        return {}
    index = {n: i for i, n in enumerate(names)}
    starts = np.array([heads[index[p[0]]] for _, p in chains], float)
    ends = np.array([heads[index[p[-1]]] for _, p in chains], float)
    dirs = ends - starts
    dirs /= np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-12)
    # the thumb: the direction furthest from the others' mean direction
    stray = []
    for i in range(len(chains)):
        others = np.delete(dirs, i, axis=0).mean(axis=0)
        stray.append(float(np.dot(dirs[i], others / max(np.linalg.norm(others), 1e-12))))
    thumb = int(np.argmin(stray))
    rest = sorted((i for i in range(len(chains)) if i != thumb),
                  key=lambda i: np.linalg.norm(starts[i] - starts[thumb]))
    order = ["thumb"] + list(FOUR if len(rest) == 4 else THREE)
    picked = [thumb] + rest
    return {f"{finger}_{k}.{side}": [chains[i][0 if finger == "thumb" else 1][k - 1]]
            for finger, i in zip(order, picked) for k in (1, 2, 3)}
