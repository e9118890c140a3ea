"""SmoothNet (Zeng et al., ECCV 2022), written from the paper: temporal-only refinement of pose sequences.

The idea: jitter is a property of each coordinate's time series, not of the body, so one small network
applied to every 1-D signal (every joint coordinate, "joint-agnostic") can learn what real motion looks
like over a window of T frames and pull a noisy window towards it. Fully connected layers along time see
the whole window at once (unlike a filter's fixed kernel), so they can discount a burst on one hard frame
from its neighbours instead of smearing it out.

Shapes: the networks map rows of length T to rows of length T: input (N, T) -> output (N, T), where N
counts (window, channel) pairs. `SmoothNetRefiner` holds two of them, because the root-relative pose and
the root trajectory differ in kind (bounded limb motion vs. travel with distance-proportional depth noise)
and are normalised differently before either network sees them (see `SmoothNetRefiner.refine`).
"""
from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """hidden -> res_hidden -> hidden with LeakyReLU and dropout, added to its input."""

    def __init__(self, hidden: int, res_hidden: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(hidden, res_hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(res_hidden, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SmoothNet(nn.Module):
    """Basic SmoothNet: encode the T-frame signal into `hidden` features, residual blocks, decode to T.

    With `skip`, the decoder's output is added to the input (a global skip), so the network learns the
    correction and starts close to the identity; without it (the paper's form) the decoder writes the
    whole sequence as a combination of its learned temporal basis, so input jitter cannot leak through.
    """

    def __init__(self, window: int, hidden: int = 512, res_hidden: int = 256, blocks: int = 3,
                 dropout: float = 0.25, skip: bool = True) -> None:
        super().__init__()
        self.window, self.skip = window, skip
        self.encoder = nn.Sequential(nn.Linear(window, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout))
        self.blocks = nn.Sequential(*[ResidualBlock(hidden, res_hidden, dropout) for _ in range(blocks)])
        self.decoder = nn.Linear(hidden, window)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.decoder(self.blocks(self.encoder(x)))
        return x + y if self.skip else y


class MotionAwareSmoothNet(nn.Module):
    """Motion-aware SmoothNet: position, velocity and acceleration streams, fused by one linear layer.

    Velocity and acceleration (first and second differences) make jitter explicit: a burst is a large
    spike in the acceleration stream while it is a small bump in position. Each stream gets its own
    encoder to `hidden` features; the concatenation is fused linearly, then shared residual blocks and a
    decoder produce the correction to the position signal.
    """

    def __init__(self, window: int, hidden: int = 512, res_hidden: int = 256, blocks: int = 3,
                 dropout: float = 0.25, skip: bool = True) -> None:
        super().__init__()
        self.window, self.skip = window, skip

        def enc(n: int) -> nn.Module:
            return nn.Sequential(nn.Linear(n, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout))

        self.pos_enc, self.vel_enc, self.acc_enc = enc(window), enc(window - 1), enc(window - 2)
        self.fuse = nn.Linear(3 * hidden, hidden)
        self.blocks = nn.Sequential(*[ResidualBlock(hidden, res_hidden, dropout) for _ in range(blocks)])
        self.decoder = nn.Linear(hidden, window)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vel = x[:, 1:] - x[:, :-1]
        acc = vel[:, 1:] - vel[:, :-1]
        h = torch.cat([self.pos_enc(x), self.vel_enc(vel), self.acc_enc(acc)], dim=1)
        y = self.decoder(self.blocks(self.fuse(h)))
        return x + y if self.skip else y


VARIANTS = {"basic": SmoothNet, "motion": MotionAwareSmoothNet}
#: The root trajectory is divided by the window's mean camera distance and multiplied by this, so its
#: numbers have the size of pose coordinates (metres at ~5 m) whatever the distance.
ROOT_SCALE = 5.0


class SmoothNetRefiner(nn.Module):
    """The shipped model: one network for root-relative joint coordinates, one for the root trajectory.

    `refine(rel, root)` takes windows rel (W, C, T) and root (W, 3, T) in metres, camera axes, and returns
    refined ones. Normalisation, chosen so that one set of weights serves every video:
    * pose channels: minus the channel's window mean (a limb's average position is not jitter);
    * root: minus the window mean, divided by the window's mean depth (root noise grows with distance).
    """

    def __init__(self, window: int, variant: str = "basic", skip: bool = True, **kw) -> None:
        super().__init__()
        self.window, self.variant = window, variant
        self.pose = VARIANTS[variant](window, skip=skip, **kw)
        self.root = VARIANTS[variant](window, skip=skip, **kw)
        # saved with the weights so a state dict alone says which form it was trained in
        self.register_buffer("global_skip", torch.tensor(bool(skip)))

    def refine(self, rel: torch.Tensor, root: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        W, C, T = rel.shape
        mean = rel.mean(dim=2, keepdim=True)
        rel_out = self.pose((rel - mean).reshape(W * C, T)).reshape(W, C, T) + mean
        rmean = root.mean(dim=2, keepdim=True)
        depth = rmean[:, 2:3].abs().clamp_min(0.5)
        rn = (root - rmean) / depth * ROOT_SCALE
        root_out = self.root(rn.reshape(W * 3, T)).reshape(W, 3, T) * depth / ROOT_SCALE + rmean
        return rel_out, root_out

    @staticmethod
    def from_state_dict(state: dict[str, torch.Tensor]) -> "SmoothNetRefiner":
        """Rebuild from a saved state dict alone: window, widths and variant are read off the shapes."""
        variant = "motion" if "pose.fuse.weight" in state else "basic"
        first = state["pose.pos_enc.0.weight" if variant == "motion" else "pose.encoder.0.weight"]
        hidden, window = first.shape
        res_hidden = state["pose.blocks.0.body.0.weight"].shape[0]
        blocks = len({k.split(".")[2] for k in state if k.startswith("pose.blocks.")})
        state = dict(state)
        skip = bool(state.setdefault("global_skip", torch.tensor(True)))  # older files: the skip form
        model = SmoothNetRefiner(int(window), variant, skip=skip, hidden=int(hidden), res_hidden=int(res_hidden),
                                 blocks=blocks)
        model.load_state_dict({k: (v if k == "global_skip" else v.float()) for k, v in state.items()})
        return model.eval()
