"""A general TFLite -> torch importer: `load_tflite(path)` returns an `nn.Module` running the graph in torch."""
from __future__ import annotations

from pathlib import Path

import torch

from .graph import build_module, same_padding

# Bump whenever the generated torch code changes (ops, folding, layout): cached conversions made by another
# version are rebuilt rather than loaded.
IMPORTER_VERSION = 2
from .reader import Graph, read_tflite


def load_tflite(path: str | Path, io_layout: str = "nchw") -> torch.nn.Module:
    """Read a .tflite file and return an eval-mode torch module computing the same outputs."""
    return build_module(read_tflite(path), io_layout).eval()


__all__ = ["IMPORTER_VERSION", "Graph", "build_module", "load_tflite", "read_tflite", "same_padding"]
