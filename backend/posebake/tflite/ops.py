"""Torch implementations of TFLite operators, on NCHW tensors.

Every 4-D activation inside an imported graph is NCHW (torch's native conv layout); the importer converts
weights and axis arguments once at build time, so these functions never permute activations except where
the TFLite semantics are defined on NHWC memory order (RESHAPE, DEPTH_TO_SPACE).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def activation(x: torch.Tensor, name: str | None) -> torch.Tensor:
    """Apply a TFLite fused activation in place: `x` is always the fresh output of the op it is fused to,
    and skipping a second full-size tensor per layer saves ~3 ms per frame on a 2-core CPU."""
    if name is None:
        return x
    if name == "relu":
        return x.relu_()
    if name == "relu6":
        return x.clamp_(0.0, 6.0)
    if name == "relu_n1_to_1":
        return x.clamp_(-1.0, 1.0)
    if name == "tanh":
        return x.tanh_()
    raise ValueError(f"unknown fused activation {name}")


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: tuple[int, int],
           padding: tuple[int, int], pre_pad: tuple[int, int, int, int] | None, dilation: tuple[int, int],
           groups: int, act: str | None) -> torch.Tensor:
    """CONV_2D / DEPTHWISE_CONV_2D. `pre_pad` carries TFLite's asymmetric SAME padding when needed."""
    if pre_pad is not None:
        x = F.pad(x, pre_pad)
    return activation(F.conv2d(x, weight, bias, stride, padding, dilation, groups), act)


def max_pool2d(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
               pre_pad: tuple[int, int, int, int] | None, act: str | None) -> torch.Tensor:
    """MAX_POOL_2D; SAME padding never wins the max, so pad with -inf."""
    if pre_pad is not None:
        x = F.pad(x, pre_pad, value=float("-inf"))
    return activation(F.max_pool2d(x, kernel, stride), act)


def add(a: torch.Tensor, b: torch.Tensor, act: str | None) -> torch.Tensor:
    return activation(a + b, act)


def mul(a: torch.Tensor, b: torch.Tensor, act: str | None) -> torch.Tensor:
    return activation(a * b, act)


def sub(a: torch.Tensor, b: torch.Tensor, act: str | None) -> torch.Tensor:
    return activation(a - b, act)


def prelu(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """PRELU with a per-channel alpha already shaped to broadcast against NCHW."""
    return torch.where(x >= 0, x, x * alpha)


def pad(x: torch.Tensor, pads: tuple[int, ...]) -> torch.Tensor:
    """PAD with zeros; `pads` is already in F.pad order (last dimension first)."""
    return F.pad(x, pads)


def resize_bilinear(x: torch.Tensor, size: tuple[int, int], align_corners: bool,
                    half_pixel_centers: bool) -> torch.Tensor:
    """RESIZE_BILINEAR in all three TFLite coordinate conventions.

    half_pixel_centers and align_corners map onto torch's two modes; the legacy mode (neither flag) samples
    at dst * in/out with no half-pixel shift, which torch has no mode for, so it is done by index arithmetic.
    """
    if half_pixel_centers and not align_corners:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    if align_corners:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=True)
    out = x
    for dim, (n_in, n_out) in zip((2, 3), ((x.shape[2], size[0]), (x.shape[3], size[1]))):
        src = torch.arange(n_out, device=x.device, dtype=torch.float32) * (n_in / n_out)
        lo = src.floor().long().clamp(max=n_in - 1)
        hi = (lo + 1).clamp(max=n_in - 1)
        frac = (src - lo.float()).to(x.dtype)
        shape = [1, 1, 1, 1]
        shape[dim] = n_out
        out = out.index_select(dim, lo) * (1 - frac.view(shape)) + out.index_select(dim, hi) * frac.view(shape)
    return out


def depth_to_space(x: torch.Tensor, block: int) -> torch.Tensor:
    """DEPTH_TO_SPACE. TFLite reads the channel index as (row_offset, col_offset, channel) — the "DCR"
    order — while torch's pixel_shuffle reads (channel, row_offset, col_offset); using pixel_shuffle here
    would silently scramble channels."""
    n, c, h, w = x.shape
    c_out = c // (block * block)
    x = x.view(n, block, block, c_out, h, w).permute(0, 3, 4, 1, 5, 2)
    return x.reshape(n, c_out, h * block, w * block)


def reshape(x: torch.Tensor, shape: tuple[int, ...], from_nchw: bool, to_nchw: bool) -> torch.Tensor:
    """RESHAPE, defined on NHWC memory order; the leading dimension is kept as the batch."""
    if from_nchw:
        x = x.permute(0, 2, 3, 1)
    x = x.reshape(x.shape[0], *shape)
    if to_nchw:
        x = x.permute(0, 3, 1, 2)
    return x


def concat(tensors: list[torch.Tensor], axis: int, act: str | None) -> torch.Tensor:
    return activation(torch.cat(tensors, dim=axis), act)


def mean(x: torch.Tensor, dims: tuple[int, ...], keep_dims: bool) -> torch.Tensor:
    return x.mean(dim=dims, keepdim=keep_dims)


def fully_connected(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, from_nchw: bool,
                    act: str | None) -> torch.Tensor:
    """FULLY_CONNECTED: flattens all but the last input dimension (NHWC order), then x @ W^T + b."""
    if from_nchw:
        x = x.permute(0, 2, 3, 1)
    x = x.reshape(-1, weight.shape[1])
    return activation(F.linear(x, weight, bias), act)


def logistic(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x)


def to_nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def to_nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)
