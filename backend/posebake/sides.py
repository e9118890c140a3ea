"""Which side is which: undo BlazePose's left/right swaps along a track, from the 2D trajectories.

BlazePose labels each frame on its own, and two mistakes recur:
- the legs swap where they cross in the image (a runner seen three-quarter on): the rendered running clip
  has knees, ankles, heels and toes swapped in 8 of 42 frames, in 2D and in the 3D world landmarks, while
  the hips mostly stay. A swapped stance foot jumps across the image, so contacts are missed, and the bake
  kicks the rig's legs through each other;
- the whole body flips (it takes a man facing the camera for one facing away): on the real rooftop clip
  every left/right pair, hips and arms included, is mirrored for 6 frames (68-73), and the rig would spin;
  on the lab clip's back view it flickers for single frames.

Per track, first for the whole body (judged on its shoulders and hips), then for the legs below the hips
(judged on themselves), we choose frame by frame "as given" or "swapped" so that those landmarks move most
smoothly in the image: a Viterbi search over the pair (previous frame's choice, this frame's), scoring each
frame by the squared 2D acceleration of each landmark in units of the track's typical one (robustly capped,
CAP), plus a price for each swapped frame, so that only a clearly smoother labelling overturns the
network's. A false label shows as two opposite jumps (in and out), as large as the two sides' separation.
Frames where the two sides lie on one spot, or collapse towards each other for a frame, say nothing about
which is which (`overlapping`); they are left out of the search. A real turn moves the points smoothly, so
it is kept. The decision reads the image only (BlazePose's 2D is its reliable part); a swap is applied to
the image points, the 3D world landmarks and the visibilities alike. bench/sides.py measures it on rendered
clips, the 4-camera lab clip and the real videos (bench/results/sides.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class Group:
    """Landmarks swapped as a whole (`swap`: left and right indices into BlazePose's 33), decided on the
    trajectories of `decide` (left, right), with `overlap` the pairs whose coincidence leaves a frame
    undecidable (`overlapping`)."""
    swap: tuple[np.ndarray, np.ndarray]
    decide: tuple[np.ndarray, np.ndarray]
    overlap: tuple[np.ndarray, np.ndarray]


_LEGS = (np.array([25, 27, 29, 31]), np.array([26, 28, 30, 32]))  # knee, ankle, heel, foot index
_UPPER = (np.array([1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23]),  # eyes, ears, mouth, arms, hand points, hips
          np.array([4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]))
_TORSO = (np.array([11, 23]), np.array([12, 24]))  # shoulders and hips

#: In order: the whole body (every left/right pair), judged on the shoulders and hips alone (arms cross each
#: other in front of the body, in tai chi for one, while a whole-body flip moves shoulders and hips at once),
#: undecidable where those meet; then the legs below the hips, judged on themselves once the body's flips are
#: undone, undecidable where the feet (ankle, heel, foot index) meet. A body flip carries the legs with it
#: (the lab clip's back view flickers that way), so the legs are judged on what it leaves.
GROUPS = {
    "body": Group(swap=(np.r_[_UPPER[0], _LEGS[0]], np.r_[_UPPER[1], _LEGS[1]]), decide=_TORSO, overlap=_TORSO),
    "legs": Group(swap=_LEGS, decide=_LEGS, overlap=(_LEGS[0][1:], _LEGS[1][1:])),
}

#: Price of one frame labelled "swapped", in squared typical accelerations of a landmark (the cost's unit).
#: A false stretch costs up to 3 x (landmarks) x CAP at each end (2400 units for the legs), while jitter rarely
#: makes a swapped labelling smoother by more than a unit or two a frame; 4 keeps the network's labels wherever
#: the image is ambiguous, and undoes a stretch of up to some hundred frames with clear ends.
SWAP_PRICE = 4.0

#: Two sides closer than this share of the track's 2D leg length (hip-knee-ankle, median) overlap: standing
#: with the feet hip-width apart they are 0.2-0.3 leg lengths apart, while where the legs cross BlazePose puts
#: both feet within a few pixels of each other (0.07 and 0.15 leg lengths on the rendered side walk and run).
OVERLAP = 0.2

#: A landmark's squared acceleration counts up to this many units (100: ten times the typical acceleration):
#: a frame BlazePose got wrong for both legs (both feet pulled to the point between them, as on the lab clip's
#: back view) then weighs the same under either labelling, instead of favouring the one that "crosses" the legs
#: through it; a false stretch still costs three capped frames per landmark at each of its ends.
CAP = 100.0

#: A frame whose two sides lie closer than this share of their distance on both neighbouring frames collapsed
#: (`overlapping`): on the lab clip's back view BlazePose puts both feet near the point between them for single
#: frames (85 px apart between frames with 330), while legs that really cross close in over several frames.
COLLAPSE = 0.5

#: Frames where the sides can be told apart are searched together while at most this many frames apart (one
#: undecidable frame between them, as where a runner's feet cross): over a longer gap a foot may have swung and
#: planted (a shuffling side walk has its feet overlapping for 5-10 frames at a time), so the labels on either
#: side are decided apart.
MAX_GAP = 2


def side_swaps(image: np.ndarray, group: str = "legs", price: float = SWAP_PRICE,
               overlap: float = OVERLAP) -> np.ndarray:
    """(T,) bool: the frames whose `group` (a key of GROUPS) to swap, for one contiguous run of frames of a
    track. `image`: (T,J,2) BlazePose image landmarks (J >= 33), pixels.

    The frames where the two sides can be told apart (not `overlapping`) form chains wherever they are at
    most MAX_GAP frames apart; each chain of three or more is searched on its own (across a longer gap a foot
    may have swung and planted, and no acceleration is measured over it). A frame the search left out is
    swapped only when the searched frames on both sides of it are."""
    left, right = GROUPS[group].decide
    T = len(image)
    swap = np.zeros(T, dtype=bool)
    keep = np.flatnonzero(~overlapping(image, group, overlap))
    breaks = np.flatnonzero(np.diff(keep) > MAX_GAP) + 1
    chains = [c for c in np.split(keep, breaks) if len(c) >= 3]
    if not chains:
        return swap
    sides = np.stack([image[:, left], image[:, right]], axis=1).astype(np.float64)  # (T,2,n,2)
    labelled = np.stack([sides, sides[:, ::-1]])  # (2: as given / swapped, T, 2, n, 2)

    def acceleration(chain: np.ndarray, a: int, b: int, c: int) -> np.ndarray:
        """(K-2, 2, n) squared acceleration (pixels per frame squared) of each landmark at each frame of a
        chain after its first two, with the labellings a, b, c on it and the two chain frames before it."""
        dt = np.diff(chain).astype(np.float64)[:, None, None, None]
        x = labelled[:, chain]
        v1 = (x[b, 1:-1] - x[a, :-2]) / dt[:-1]
        v2 = (x[c, 2:] - x[b, 1:-1]) / dt[1:]
        return np.sum(((v2 - v1) * 2 / (dt[:-1] + dt[1:])) ** 2, axis=-1)

    # the unit: the track's median squared acceleration of a landmark as given
    unit = max(float(np.median(np.concatenate([acceleration(c, 0, 0, 0).ravel() for c in chains]))), 1e-6)
    decided = np.zeros(T, dtype=bool)
    for chain in chains:
        cost = np.array([[[np.minimum(acceleration(chain, a, b, c) / unit, CAP).sum(axis=(1, 2)) for c in (0, 1)]
                          for b in (0, 1)] for a in (0, 1)])
        swap[chain] = _viterbi(cost, price)
        decided[chain] = True
    # a frame left out takes "swapped" only from the decided frames on both sides of it
    idx = np.flatnonzero(decided)
    for t in np.flatnonzero(~decided):
        k = np.searchsorted(idx, t)
        swap[t] = 0 < k < len(idx) and bool(swap[idx[k - 1]] and swap[idx[k]])
    return swap


def _viterbi(cost: np.ndarray, price: float) -> np.ndarray:
    """(K,) bool: the cheapest labelling of K frames, `cost[a, b, c, k]` the price of labellings a, b, c on
    frames k, k+1, k+2, plus `price` for each swapped frame."""
    K = cost.shape[-1] + 2
    # best[b, c]: the cheapest labelling of frames 0..k+2 ending with (b, c) on frames k+1, k+2
    best = price * (np.arange(2)[:, None] + np.arange(2)[None, :]).astype(np.float64)
    back = np.zeros((K - 2, 2, 2), dtype=np.int64)
    for k in range(K - 2):
        total = best[:, :, None] + cost[:, :, :, k] + price * np.arange(2)[None, None, :]  # (a, b, c)
        back[k] = np.argmin(total, axis=0)
        best = np.min(total, axis=0)
    b, c = np.unravel_index(int(np.argmin(best)), best.shape)
    chosen = np.zeros(K, dtype=bool)
    chosen[K - 1], chosen[K - 2] = bool(c), bool(b)
    for k in range(K - 3, -1, -1):
        a = back[k, b, c]
        chosen[k] = bool(a)
        b, c = a, b
    return chosen


def overlapping(image: np.ndarray, group: str = "legs", overlap: float = OVERLAP) -> np.ndarray:
    """(T,) bool: frames where the image cannot tell the two sides of `group` apart: its `overlap` pairs lie on
    average within `overlap` of the track's 2D leg length of each other, or closer than COLLAPSE times their
    distance on both neighbouring frames (BlazePose pulled both to the point between them for a frame)."""
    left, right = GROUPS[group].overlap
    gap = np.linalg.norm(image[:, left] - image[:, right], axis=-1).mean(axis=1)
    leg = np.linalg.norm(image[:, 25] - image[:, 23], axis=-1) + np.linalg.norm(image[:, 27] - image[:, 25], axis=-1)
    out = gap < overlap * max(float(np.median(leg)), 1e-6)
    if len(gap) >= 3:
        out[1:-1] |= gap[1:-1] < COLLAPSE * np.minimum(gap[:-2], gap[2:])
    return out


def untangle_sides(frames: np.ndarray, image: np.ndarray, world: np.ndarray, visibility: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A track's landmarks with its side swaps undone (`side_swaps` per group, on each run of consecutive
    frames): new (image, world, visibility) and, per group, the (T,) bool of frames swapped. `frames`: (T,)
    frame numbers; every array's second axis indexes BlazePose's landmarks (33 or more)."""
    image, world, visibility = image.copy(), world.copy(), visibility.copy()
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    runs = list(zip(np.r_[0, breaks], np.r_[breaks, len(frames)]))
    found = {}
    for group, spec in GROUPS.items():
        swapped = np.zeros(len(frames), dtype=bool)
        for lo, hi in runs:
            swapped[lo:hi] = side_swaps(image[lo:hi], group)
        left, right = spec.swap
        both, other = np.r_[left, right], np.r_[right, left]
        for arr in (image, world, visibility):
            arr[np.ix_(swapped, both)] = arr[np.ix_(swapped, other)]
        found[group] = swapped
    return image, world, visibility, found
