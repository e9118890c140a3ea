"""Grid search of the classical filters' parameters (`posebake.smoothing.filters`) on the validation split.

The defaults there came from this search (lowest root-relative MPJPE); bench/smoothing.py re-runs it.
"""
from __future__ import annotations

import numpy as np

from posebake.smoothing.filters import FILTERS

from .train import evaluate_sequences

GRIDS: dict[str, list[dict[str, float]]] = {
    "oneeuro": [{"min_cutoff": c, "beta": b} for c in (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
                for b in (0.0, 0.1, 0.5, 2.0)],
    "savgol": [{"window": w, "order": o} for w in (5, 7, 9, 11, 15, 21, 31) for o in (1, 2, 3) if o < w - 1],
    "gaussian": [{"sigma": s} for s in (0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0)],
}


def tune(seqs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, list[tuple[dict, dict]]]:
    """Every grid point of every filter scored on (clean, noisy) sequences, best (lowest MPJPE) first."""
    results = {}
    for name, grid in GRIDS.items():
        scored = [(p, evaluate_sequences(lambda x, p=p: FILTERS[name](x, **p), seqs)) for p in grid]
        results[name] = sorted(scored, key=lambda s: s[1]["mpjpe_mm"])
    return results


if __name__ == "__main__":  # python -m posebake_dev.smoothnet.tune_filters: tune on the validation sequences
    import json

    from . import data
    from .noise import load_profile
    from .train import val_sequences

    seqs = val_sequences(data.load_split()["val"], load_profile())
    res = tune(seqs)
    for name, scored in res.items():
        print(name, "best", json.dumps(scored[0][0]), json.dumps({k: round(v, 2) for k, v in scored[0][1].items()}))
        for p, m in scored[:5]:
            print("   ", json.dumps(p), {k: round(v, 2) for k, v in m.items()})
