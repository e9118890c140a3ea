"""DSTformer: the dual-stream spatio-temporal transformer of MotionBERT (Zhu et al., ICCV 2023), written
from the paper, sized for a CPU.

Input (B, T, J_in, 3): per frame and landmark the normalised 2D position and a confidence; output
(B, T, J_out, 3) root-relative joints in metres. Each block runs two streams on the same input: spatial
attention (joints of one frame attend to each other) then temporal attention (one joint attends across
the window's frames), and the same two in the other order. Their outputs are mixed per token with weights
a small linear layer predicts from both (softmax over the two streams), the paper's adaptive fusion:
which order helps depends on the motion. Positions enter through learnable spatial (per joint) and
temporal (per frame) encodings added after the embedding, as in the paper. The paper's model has
C=512, 5 blocks and T=243; ours (`LifterConfig`: C=48, 2 blocks, T=27) is what a CPU trains in about half
an hour (bench/RESULTS.md, "2D→3D lifter"); it runs at under 1 ms per frame.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LifterConfig:
    joints_in: int = 19
    joints_out: int = 19
    channels_in: int = 3  # x, y, visibility
    window: int = 27
    dim: int = 48
    depth: int = 2
    heads: int = 4
    mlp_ratio: float = 2.0
    rep_dim: int = 128  # the "motion representation" layer before the output head
    frame_context: bool = True  # add a projection of the whole frame to every token (see DSTformer.__init__)
    visibility: bool = True  # False: the visibility channel is ignored (zeroed), for the ablation

    def to_dict(self) -> dict:
        return asdict(self)


class Attention(nn.Module):
    """Multi-head self-attention over one axis of a (B, T, J, C) tensor: 'space' (over J) or 'time' (over T)."""

    def __init__(self, dim: int, heads: int, axis: str) -> None:
        super().__init__()
        self.heads, self.axis = heads, axis
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, J, C = x.shape
        seq = x if self.axis == "space" else x.transpose(1, 2)  # (B, N, L, C): attend over L
        N, L = seq.shape[1], seq.shape[2]
        qkv = self.qkv(seq).reshape(B * N, L, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        out = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B*N, H, L, C/H)
        out = self.proj(out.transpose(1, 2).reshape(B, N, L, C))
        return out if self.axis == "space" else out.transpose(1, 2)


class Block(nn.Module):
    """Pre-norm transformer block (attention + MLP, each residual) along one axis."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, axis: str) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, axis)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DualBlock(nn.Module):
    """S->T and T->S streams on the same input, fused by learned per-token weights."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.st = nn.Sequential(Block(dim, heads, mlp_ratio, "space"), Block(dim, heads, mlp_ratio, "time"))
        self.ts = nn.Sequential(Block(dim, heads, mlp_ratio, "time"), Block(dim, heads, mlp_ratio, "space"))
        self.fuse = nn.Linear(2 * dim, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.st(x), self.ts(x)
        w = torch.softmax(self.fuse(torch.cat([a, b], dim=-1)), dim=-1)
        return a * w[..., :1] + b * w[..., 1:]


class DSTformer(nn.Module):
    def __init__(self, cfg: LifterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Linear(cfg.channels_in, cfg.dim)
        # Each token also gets a projection of its whole frame (all landmarks at once): a per-frame lifter's
        # view, which the attention layers then refine. Not in the paper; on our CPU budget (no pretraining)
        # it, the joint encodings' larger start and GELU below made the first hundreds of steps learn faster.
        self.frame_embed = nn.Linear(cfg.channels_in * cfg.joints_in, cfg.dim) if cfg.frame_context else None
        self.pos_space = nn.Parameter(torch.zeros(1, 1, cfg.joints_in, cfg.dim))
        self.pos_time = nn.Parameter(torch.zeros(1, cfg.window, 1, cfg.dim))
        nn.init.trunc_normal_(self.pos_space, std=1.0)  # which landmark a token is must be plain from the start
        nn.init.trunc_normal_(self.pos_time, std=0.02)
        self.blocks = nn.ModuleList(DualBlock(cfg.dim, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        # J_in landmarks -> J_out joint centres: the output joints are not the input points, so the last
        # features of all input tokens of a frame are mixed into each output joint.
        self.rep = nn.Sequential(nn.Linear(cfg.dim, cfg.rep_dim), nn.GELU())
        self.to_joints = nn.Linear(cfg.joints_in, cfg.joints_out)
        self.head = nn.Linear(cfg.rep_dim, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        if not self.cfg.visibility:
            x = torch.cat([x[..., :2], torch.zeros_like(x[..., 2:])], dim=-1)
        h = self.embed(x) + self.pos_space + self.pos_time[:, :T]
        if self.frame_embed is not None:
            h = h + self.frame_embed(x.flatten(2))[:, :, None]
        for blk in self.blocks:
            h = blk(h)
        r = self.rep(self.norm(h))  # (B, T, J_in, R)
        r = self.to_joints(r.transpose(2, 3)).transpose(2, 3)  # (B, T, J_out, R)
        return self.head(r)
