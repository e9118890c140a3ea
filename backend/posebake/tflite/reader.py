"""Read a .tflite flatbuffer into a small, framework-free graph description.

The importer works in two steps so that each is simple: this module turns the flatbuffer into plain Python
objects (tensors with numpy constants, operators with decoded options), folding the weight-only ops
DEQUANTIZE (float16 -> float32) and DENSIFY (sparse -> dense) into constants on the way, because they only
ever act on stored weights in these models; `graph.py` then builds torch code from that description.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posebake_core.errors import PoseBakeError

# TensorType enum values from the TFLite schema.
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_, 7: np.int16,
           9: np.int8, 10: np.float64}

_FUSED_ACTIVATIONS = {0: None, 1: "relu", 2: "relu_n1_to_1", 3: "relu6", 4: "tanh"}
_PADDING = {0: "same", 1: "valid"}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: Any
    data: np.ndarray | None = None  # constant value, None for activations


@dataclass
class Operator:
    index: int
    op: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    path: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.operators:
            counts[op.op] = counts.get(op.op, 0) + 1
        return counts


def _builtin_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}


def _vector(dim_meta: Any, which: str) -> np.ndarray:
    """Read a sparsity index vector, which the schema stores as a union of int32/uint16/uint8 vectors."""
    import tflite

    kind = getattr(dim_meta, f"Array{which}Type")()
    table = getattr(dim_meta, f"Array{which}")()
    cls = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}.get(kind)
    if cls is None:
        raise PoseBakeError(f"unsupported sparse index vector type {kind}")
    vec = cls()
    vec.Init(table.Bytes, table.Pos)
    return np.asarray(vec.ValuesAsNumpy(), dtype=np.int64)


def densify(values: np.ndarray, shape: tuple[int, ...], sparsity: Any) -> np.ndarray:
    """Expand a TFLite sparse tensor to dense.

    The format stores the tensor as a tree: one level per entry of `traversal_order`, each level either
    DENSE (every index present) or SPARSE_CSR (segments/indices like a CSR matrix, indexed by the position
    reached in the level above). Levels beyond the tensor's rank are the inner indices of blocks
    (`block_map` says which original dimension each block level subdivides). The leaf position indexes
    the stored values.
    """
    rank = len(shape)
    order = [int(v) for v in sparsity.TraversalOrderAsNumpy()]
    block_map = [int(v) for v in sparsity.BlockMapAsNumpy()] if sparsity.BlockMapLength() else []
    levels = [sparsity.DimMetadata(k) for k in range(sparsity.DimMetadataLength())]
    block_size = [1] * rank
    for k, dim in enumerate(block_map):
        meta = levels[order.index(rank + k)]
        block_size[dim] = int(meta.DenseSize())

    # Walk level by level, carrying (position, per-level coordinate) for every reached node.
    positions = np.zeros(1, dtype=np.int64)
    coords: list[np.ndarray] = []
    for meta in levels:
        if meta.Format() == 0:  # DENSE
            size = int(meta.DenseSize())
            child = np.arange(size, dtype=np.int64)
            new_pos = (positions[:, None] * size + child[None, :]).reshape(-1)
            coords = [np.repeat(c, size) for c in coords] + [np.tile(child, len(positions))]
        else:  # SPARSE_CSR
            seg = _vector(meta, "Segments")
            idx = _vector(meta, "Indices")
            counts = seg[positions + 1] - seg[positions]
            new_pos = np.concatenate([np.arange(seg[p], seg[p + 1]) for p in positions]) if len(positions) else \
                np.zeros(0, np.int64)
            coords = [np.repeat(c, counts) for c in coords] + [idx[new_pos]]
        positions = new_pos

    dense = np.zeros(shape, dtype=values.dtype)
    full = [np.zeros(len(positions), np.int64) for _ in range(rank)]
    for level, dim in enumerate(order):
        if dim < rank:
            full[dim] += coords[level] * block_size[dim]
        else:
            full[block_map[dim - rank]] += coords[level]
    dense[tuple(full)] = values.reshape(-1)[positions]
    return dense


def _options(op: Any, name: str) -> dict[str, Any]:
    """Decode the builtin options this importer needs, as a plain dict."""
    import tflite

    table = op.BuiltinOptions()
    if table is None:
        return {}

    def load(cls: Any) -> Any:
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        return obj

    if name == "CONV_2D":
        o = load(tflite.Conv2DOptions)
        return dict(padding=_PADDING[o.Padding()], stride=(o.StrideH(), o.StrideW()),
                    dilation=(o.DilationHFactor(), o.DilationWFactor()),
                    activation=_FUSED_ACTIVATIONS[o.FusedActivationFunction()])
    if name == "DEPTHWISE_CONV_2D":
        o = load(tflite.DepthwiseConv2DOptions)
        return dict(padding=_PADDING[o.Padding()], stride=(o.StrideH(), o.StrideW()),
                    dilation=(o.DilationHFactor(), o.DilationWFactor()), depth_multiplier=o.DepthMultiplier(),
                    activation=_FUSED_ACTIVATIONS[o.FusedActivationFunction()])
    if name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        o = load(tflite.Pool2DOptions)
        return dict(padding=_PADDING[o.Padding()], stride=(o.StrideH(), o.StrideW()),
                    kernel=(o.FilterHeight(), o.FilterWidth()),
                    activation=_FUSED_ACTIVATIONS[o.FusedActivationFunction()])
    if name in ("ADD", "MUL", "SUB"):
        cls = {"ADD": tflite.AddOptions, "MUL": tflite.MulOptions, "SUB": tflite.SubOptions}[name]
        return dict(activation=_FUSED_ACTIVATIONS[load(cls).FusedActivationFunction()])
    if name == "CONCATENATION":
        o = load(tflite.ConcatenationOptions)
        return dict(axis=o.Axis(), activation=_FUSED_ACTIVATIONS[o.FusedActivationFunction()])
    if name == "RESHAPE":
        o = load(tflite.ReshapeOptions)
        return dict(new_shape=[int(v) for v in o.NewShapeAsNumpy()] if o.NewShapeLength() else None)
    if name in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        cls = tflite.ResizeBilinearOptions if name == "RESIZE_BILINEAR" else tflite.ResizeNearestNeighborOptions
        o = load(cls)
        return dict(align_corners=bool(o.AlignCorners()), half_pixel_centers=bool(o.HalfPixelCenters()))
    if name == "DEPTH_TO_SPACE":
        return dict(block_size=load(tflite.DepthToSpaceOptions).BlockSize())
    if name == "FULLY_CONNECTED":
        o = load(tflite.FullyConnectedOptions)
        return dict(activation=_FUSED_ACTIVATIONS[o.FusedActivationFunction()], keep_num_dims=bool(o.KeepNumDims()))
    if name == "MEAN":
        return dict(keep_dims=bool(load(tflite.ReducerOptions).KeepDims()))
    return {}


def read_tflite(path: str | Path) -> Graph:
    """Parse a .tflite file into a `Graph`, with float16 and sparse weights expanded to dense float32."""
    import tflite

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PoseBakeError(f"cannot read model file {path}: {exc.strerror}") from exc
    if len(raw) < 8 or raw[4:8] != b"TFL3":
        raise PoseBakeError(f"{path} is not a TFLite model (no TFL3 identifier)")
    model = tflite.Model.GetRootAsModel(raw, 0)
    if model.SubgraphsLength() != 1:
        raise PoseBakeError(f"{path}: only single-subgraph models are supported "
                            f"(this one has {model.SubgraphsLength()})")
    names = _builtin_names()
    sub = model.Subgraphs(0)

    tensors: list[Tensor] = []
    for i in range(sub.TensorsLength()):
        t = sub.Tensors(i)
        dtype = _DTYPES.get(t.Type())
        if dtype is None:
            raise PoseBakeError(f"{path}: tensor {t.Name().decode()} has unsupported type {t.Type()}")
        shape = tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        data = None
        buf = model.Buffers(t.Buffer())
        if buf is not None and buf.DataLength() > 0:
            flat = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype)
            if t.Sparsity() is not None:
                data = flat  # expanded by the DENSIFY op that consumes it
            else:
                data = flat.reshape(shape).copy()
        tensors.append(Tensor(i, t.Name().decode(), shape, dtype, data))
        if t.Sparsity() is not None and data is not None:
            tensors[-1].data = densify(data, shape, t.Sparsity())

    operators: list[Operator] = []
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
        if name == "CUSTOM":
            name = f"CUSTOM:{code.CustomCode().decode() if code.CustomCode() else '?'}"
        operators.append(Operator(i, name, [int(v) for v in op.InputsAsNumpy()],
                                  [int(v) for v in op.OutputsAsNumpy()], _options(op, name)))

    graph = Graph(str(path), tensors, operators, [int(v) for v in sub.InputsAsNumpy()],
                  [int(v) for v in sub.OutputsAsNumpy()])
    _fold_weight_ops(graph)
    return graph


def _fold_weight_ops(graph: Graph) -> None:
    """Replace DEQUANTIZE/DENSIFY of constants by float32 constants and drop those operators."""
    kept = []
    for op in graph.operators:
        if op.op in ("DEQUANTIZE", "DENSIFY"):
            src = graph.tensors[op.inputs[0]]
            if src.data is not None:
                dst = graph.tensors[op.outputs[0]]
                dst.data = src.data.astype(np.float32 if op.op == "DEQUANTIZE" else src.data.dtype).reshape(dst.shape)
                continue
        kept.append(op)
    graph.operators = kept
