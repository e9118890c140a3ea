"""Build a torch `nn.Module` that executes a parsed TFLite graph.

The graph is translated once into a `torch.fx.GraphModule`: straight-line generated Python with one call per
TFLite operator and the weights as buffers. That keeps per-call interpreter overhead low, lets `.to()`
move everything to the GPU, and lets `torch.compile` and autocast work on it like on hand-written code.

Layout: 4-D activations are NCHW inside the module. Conversions happen once at the edges (`io_layout`),
and every layout-dependent argument (weights, padding, axes, broadcast constants) is converted here.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
import torch.fx as fx

from posebake_core.errors import PoseBakeError
from . import ops
from .reader import Graph, Operator, Tensor

_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TFLite/TensorFlow SAME padding along one axis: (before, after).

    The total is split with the extra pixel AFTER, so for stride 2 on even inputs the padding is (0, 1),
    not torch's symmetric (1, 1); the symmetric version shifts every feature by half a pixel.
    """
    effective = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


class _Builder:
    def __init__(self, graph: Graph, io_layout: str) -> None:
        self.g = graph
        self.io_layout = io_layout
        self.root = torch.nn.Module()
        self.fx = fx.Graph()
        self.values: dict[int, fx.Node] = {}
        self.n_const = 0
        # PAD outputs folded into the padding argument of the convolutions that consume them.
        self.folded_pad: dict[int, tuple[int, int]] = {}
        self.consumers: dict[int, list[Operator]] = {}
        for op in graph.operators:
            for i in op.inputs:
                self.consumers.setdefault(i, []).append(op)

    # -- helpers -------------------------------------------------------------------------------------
    def tensor(self, index: int) -> Tensor:
        return self.g.tensors[index]

    def is_4d(self, index: int) -> bool:
        return len(self.tensor(index).shape) == 4

    def const(self, array: np.ndarray, name_hint: str = "c") -> fx.Node:
        name = f"{name_hint}{self.n_const}"
        self.n_const += 1
        value = torch.from_numpy(np.ascontiguousarray(array))
        if value.is_floating_point():
            value = value.float()
        self.root.register_buffer(name, value)
        return self.fx.get_attr(name)

    def operand(self, index: int, like: int | None = None) -> fx.Node:
        """An activation node, or a constant converted to broadcast against NCHW activation `like`."""
        if index in self.values:
            return self.values[index]
        t = self.tensor(index)
        if t.data is None:
            raise PoseBakeError(f"{self.g.path}: tensor {t.name} is used before it is computed")
        data = t.data.astype(np.float32) if t.data.dtype != np.float32 and np.issubdtype(t.data.dtype, np.floating) \
            else t.data
        if like is not None and self.is_4d(like) and data.ndim >= 1 and data.size > 1:
            data = data.reshape((1,) * (4 - data.ndim) + data.shape).transpose(0, 3, 1, 2)
        return self.const(data)

    def call(self, fn: Callable[..., Any], *args: Any) -> fx.Node:
        return self.fx.call_function(fn, args)

    def spatial_pad(self, in_index: int, kernel: tuple[int, int], stride: tuple[int, int],
                    dilation: tuple[int, int], padding: str) -> tuple[tuple[int, int], tuple[int, int, int, int] | None]:
        """Return (symmetric conv padding, explicit pre-pad or None) for SAME/VALID."""
        if padding == "valid":
            return (0, 0), None
        _, h, w, _ = self.tensor(in_index).shape
        top, bottom = same_padding(h, kernel[0], stride[0], dilation[0])
        left, right = same_padding(w, kernel[1], stride[1], dilation[1])
        if top == bottom and left == right:
            return (top, left), None
        return (0, 0), (left, right, top, bottom)

    # -- operators -------------------------------------------------------------------------------------
    def build(self) -> fx.GraphModule:
        for i in self.g.inputs:
            node = self.fx.placeholder(f"input_{i}")
            if self.is_4d(i) and self.io_layout == "nhwc":
                node = self.call(ops.to_nchw, node)
            self.values[i] = node
        for op in self.g.operators:
            handler = getattr(self, f"op_{op.op.lower()}", None)
            if handler is None:
                raise PoseBakeError(f"{self.g.path}: unsupported TFLite operator {op.op} (operator #{op.index})")
            self.values[op.outputs[0]] = handler(op)
        outs = []
        for o in self.g.outputs:
            node = self.values[o]
            if self.is_4d(o) and self.io_layout == "nhwc":
                node = self.call(ops.to_nhwc, node)
            outs.append(node)
        self.fx.output(tuple(outs))
        return fx.GraphModule(self.root, self.fx, class_name="TFLiteGraph")

    def _conv(self, op: Operator, depthwise: bool) -> fx.Node:
        x, w_t, b_t = op.inputs[0], self.tensor(op.inputs[1]), op.inputs[2] if len(op.inputs) > 2 else -1
        o = op.options
        w = w_t.data
        if w is None:
            raise PoseBakeError(f"{self.g.path}: {op.op} with non-constant weights is not supported")
        if depthwise:  # (1, KH, KW, C*M) -> (C*M, 1, KH, KW), one group per input channel
            weight = w.transpose(3, 0, 1, 2)
            groups = self.tensor(x).shape[3]
        else:  # (O, KH, KW, I) -> (O, I, KH, KW)
            weight = w.transpose(0, 3, 1, 2)
            groups = self.tensor(x).shape[3] // weight.shape[1]
        kernel = (weight.shape[2], weight.shape[3])
        padding, pre_pad = self.spatial_pad(x, kernel, o["stride"], o["dilation"], o["padding"])
        if x in self.folded_pad:  # a preceding symmetric PAD, applied by the convolution itself
            padding = self.folded_pad[x]
        bias = self.const(self.tensor(b_t).data.astype(np.float32), "b") if b_t >= 0 else None
        return self.call(ops.conv2d, self.values[x], self.const(weight, "w"), bias, o["stride"], padding, pre_pad,
                         o["dilation"], groups, o["activation"])

    def op_conv_2d(self, op: Operator) -> fx.Node:
        return self._conv(op, depthwise=False)

    def op_depthwise_conv_2d(self, op: Operator) -> fx.Node:
        return self._conv(op, depthwise=True)

    def op_max_pool_2d(self, op: Operator) -> fx.Node:
        o = op.options
        padding, pre_pad = self.spatial_pad(op.inputs[0], o["kernel"], o["stride"], (1, 1), o["padding"])
        if padding != (0, 0):
            pre_pad = (padding[1], padding[1], padding[0], padding[0])
        return self.call(ops.max_pool2d, self.values[op.inputs[0]], o["kernel"], o["stride"], pre_pad,
                         o["activation"])

    def _binary(self, op: Operator, fn: Callable[..., Any]) -> fx.Node:
        a, b = op.inputs
        like = a if a in self.values else b
        return self.call(fn, self.operand(a, like), self.operand(b, like), op.options["activation"])

    def op_add(self, op: Operator) -> fx.Node:
        return self._binary(op, ops.add)

    def op_mul(self, op: Operator) -> fx.Node:
        return self._binary(op, ops.mul)

    def op_sub(self, op: Operator) -> fx.Node:
        return self._binary(op, ops.sub)

    def op_prelu(self, op: Operator) -> fx.Node:
        alpha = self.tensor(op.inputs[1]).data
        if self.is_4d(op.inputs[0]):
            alpha = alpha.reshape(1, -1, 1, 1) if alpha.size > 1 else alpha.reshape(1, 1, 1, 1)
        return self.call(ops.prelu, self.values[op.inputs[0]], self.const(alpha.astype(np.float32), "a"))

    def op_logistic(self, op: Operator) -> fx.Node:
        return self.call(ops.logistic, self.values[op.inputs[0]])

    def _foldable_pad(self, op: Operator, pads: np.ndarray) -> tuple[int, int] | None:
        """(ph, pw) if this PAD is zero padding of H and W only, equal on both sides, feeding only VALID
        convolutions: then the convolution pads by itself and no padded copy of the tensor is made."""
        if not self.is_4d(op.inputs[0]) or pads[0].any() or pads[3].any():
            return None
        (t, b), (l, r) = pads[1], pads[2]
        users = self.consumers.get(op.outputs[0], [])
        if t != b or l != r or not users or op.outputs[0] in self.g.outputs:
            return None
        if all(u.op in ("CONV_2D", "DEPTHWISE_CONV_2D") and u.options["padding"] == "valid"
               and u.inputs[0] == op.outputs[0] for u in users):
            return int(t), int(l)
        return None

    def op_pad(self, op: Operator) -> fx.Node:
        pads = self.tensor(op.inputs[1]).data.reshape(-1, 2)
        folded = self._foldable_pad(op, pads)
        if folded is not None:
            self.folded_pad[op.outputs[0]] = folded
            return self.values[op.inputs[0]]
        if self.is_4d(op.inputs[0]):
            if pads[0].any():
                raise PoseBakeError(f"{self.g.path}: PAD along the batch axis is not supported")
            order = [pads[2], pads[1], pads[3]]  # F.pad order for NCHW: W, H, C
        else:
            order = list(pads[::-1])
        flat = tuple(int(v) for pair in order for v in pair)
        return self.call(ops.pad, self.values[op.inputs[0]], flat)

    def op_resize_bilinear(self, op: Operator) -> fx.Node:
        size = tuple(int(v) for v in self.tensor(op.inputs[1]).data)
        return self.call(ops.resize_bilinear, self.values[op.inputs[0]], size, op.options["align_corners"],
                         op.options["half_pixel_centers"])

    def op_depth_to_space(self, op: Operator) -> fx.Node:
        return self.call(ops.depth_to_space, self.values[op.inputs[0]], op.options["block_size"])

    def op_reshape(self, op: Operator) -> fx.Node:
        out_shape = self.tensor(op.outputs[0]).shape
        return self.call(ops.reshape, self.values[op.inputs[0]], tuple(out_shape[1:]), self.is_4d(op.inputs[0]),
                         len(out_shape) == 4)

    def op_concatenation(self, op: Operator) -> fx.Node:
        rank = len(self.tensor(op.outputs[0]).shape)
        axis = op.options["axis"] % rank
        if rank == 4:
            axis = _NHWC_TO_NCHW_AXIS[axis]
        return self.call(ops.concat, [self.operand(i, op.outputs[0]) for i in op.inputs], axis,
                         op.options["activation"])

    def op_mean(self, op: Operator) -> fx.Node:
        rank = len(self.tensor(op.inputs[0]).shape)
        axes = [int(a) % rank for a in np.atleast_1d(self.tensor(op.inputs[1]).data)]
        keep = op.options["keep_dims"]
        if rank == 4 and not keep and sorted(axes) != [1, 2]:
            raise PoseBakeError(f"{self.g.path}: MEAN over axes {axes} without keep_dims is not supported")
        dims = tuple(_NHWC_TO_NCHW_AXIS[a] for a in axes) if rank == 4 else tuple(axes)
        return self.call(ops.mean, self.values[op.inputs[0]], dims, keep)

    def op_fully_connected(self, op: Operator) -> fx.Node:
        x, w, b = op.inputs[0], self.tensor(op.inputs[1]), op.inputs[2] if len(op.inputs) > 2 else -1
        if op.options.get("keep_num_dims"):
            raise PoseBakeError(f"{self.g.path}: FULLY_CONNECTED with keep_num_dims is not supported")
        bias = self.const(self.tensor(b).data.astype(np.float32), "b") if b >= 0 else None
        return self.call(ops.fully_connected, self.values[x], self.const(w.data, "w"), bias, self.is_4d(x),
                         op.options["activation"])


def build_module(graph: Graph, io_layout: str = "nchw") -> fx.GraphModule:
    """Translate `graph` into a GraphModule.

    io_layout "nchw": 4-D inputs and outputs are NCHW (what torch code around it uses; no permutes at all);
    "nhwc": they are NHWC exactly like the TFLite model (for parity checks).
    """
    if io_layout not in ("nchw", "nhwc"):
        raise ValueError("io_layout must be 'nchw' or 'nhwc'")
    return _Builder(graph, io_layout).build()


def select_outputs(module: fx.GraphModule, keep: list[int]) -> fx.GraphModule:
    """A copy of `module` returning only outputs `keep` (in that order), with every operator that fed only
    the dropped outputs removed. The pose landmark model, for one, spends part of its time on a 256×256
    segmentation mask that pose estimation never reads."""
    import copy

    gm = copy.deepcopy(module)
    out_node = next(n for n in gm.graph.nodes if n.op == "output")
    outputs = out_node.args[0]
    out_node.args = (tuple(outputs[i] for i in keep),)
    gm.graph.eliminate_dead_code()
    for name, _ in list(gm.named_buffers()):
        if not any(n.op == "get_attr" and n.target == name for n in gm.graph.nodes):
            delattr(gm, name)
    gm.recompile()
    return gm
