"""Importer mechanics that parity on whole models could hide: padding, depth-to-space, sparsity, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from posebake_core.errors import PoseBakeError
from posebake.tflite import load_tflite, read_tflite, same_padding
from posebake.tflite.ops import depth_to_space, resize_bilinear


def test_same_padding_is_asymmetric_for_stride_two():
    assert same_padding(256, 3, 2) == (0, 1)  # torch's symmetric (1, 1) would shift features
    assert same_padding(255, 3, 2) == (1, 1)
    assert same_padding(64, 5, 1) == (2, 2)
    assert same_padding(7, 1, 1) == (0, 0)


def test_depth_to_space_uses_tflite_channel_order():
    # NHWC reference from the TFLite definition: out[h*b+i, w*b+j, c] = in[h, w, (i*b+j)*C + c].
    b, c_out = 2, 3
    x = np.random.RandomState(0).rand(1, 4, 5, b * b * c_out).astype(np.float32)
    ref = np.zeros((1, 8, 10, c_out), np.float32)
    for i in range(b):
        for j in range(b):
            ref[0, i::b, j::b, :] = x[0, :, :, (i * b + j) * c_out:(i * b + j + 1) * c_out]
    out = depth_to_space(torch.from_numpy(x).permute(0, 3, 1, 2), b).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(out, ref)
    shuffled = torch.nn.functional.pixel_shuffle(torch.from_numpy(x).permute(0, 3, 1, 2), b).permute(0, 2, 3, 1)
    assert not np.allclose(shuffled.numpy(), ref)  # the trap the importer avoids


def test_legacy_resize_samples_without_half_pixel_offset():
    x = torch.arange(4, dtype=torch.float32).view(1, 1, 1, 4)
    out = resize_bilinear(x, (1, 8), align_corners=False, half_pixel_centers=False)
    np.testing.assert_allclose(out.view(-1).numpy(), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3])


def test_sparse_detector_weights_are_densified(model_files):
    graph = read_tflite(model_files / "pose_detection.tflite")
    assert "DENSIFY" not in graph.op_counts() and "DEQUANTIZE" not in graph.op_counts()
    convs = [graph.tensors[op.inputs[1]].data for op in graph.operators if op.op == "CONV_2D"]
    assert all(w is not None and w.dtype == np.float32 for w in convs)
    # Densified weights really are sparse (many exact zeros) but not empty.
    zeros = np.mean([np.mean(w == 0) for w in convs])
    assert 0.05 < zeros < 0.95


def test_not_a_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_text("hello")
    with pytest.raises(PoseBakeError, match="not a TFLite model"):
        load_tflite(bad)
    with pytest.raises(PoseBakeError, match="cannot read model file"):
        load_tflite(tmp_path / "missing.tflite")


def test_unsupported_operator_is_named(model_files):
    graph = read_tflite(model_files / "hand_landmark_full.tflite")
    graph.operators[3].op = "CUMSUM"
    from posebake.tflite.graph import build_module

    with pytest.raises(PoseBakeError, match="unsupported TFLite operator CUMSUM"):
        build_module(graph)


def test_select_outputs_prunes_unused_branches(model_files):
    from posebake.tflite.graph import select_outputs

    full = load_tflite(model_files / "pose_landmark_full.tflite")
    pruned = select_outputs(full, [0, 1, 3, 4])  # drop the segmentation mask
    assert len(pruned.graph.nodes) < len(full.graph.nodes) - 30
    assert sum(b.numel() for b in pruned.buffers()) < sum(b.numel() for b in full.buffers())
    x = torch.rand(2, 3, 256, 256)
    with torch.no_grad():
        a, b = full(x), pruned(x)
    assert len(b) == 4
    for i, j in ((0, 0), (1, 1), (3, 2), (4, 3)):
        assert torch.equal(a[i], b[j])
