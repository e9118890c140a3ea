"""Temporal smoothing: windowed SmoothNet inference against a slow reference, edge cases (short, gapped,
single-frame tracks), the classical filters, the shipped weights on real CMU motion, and smooth_motion."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from posebake_core.motion import Motion
from posebake.paths import shared_data
from posebake_core.skeleton import standing_pose
from posebake.smoothing import METHODS, filters, load_refiner, smooth_motion, weights_path
from posebake.smoothing.smoothnet import SmoothNetRefiner
from posebake.smoothing.windows import refine_track, reflect_index, window_starts

HIPS = (23, 24)


@pytest.fixture(scope="module")
def tiny() -> SmoothNetRefiner:
    """A small random refiner (T=8): the windowing maths does not depend on trained weights."""
    torch.manual_seed(0)
    model = SmoothNetRefiner(8, "motion", hidden=32, res_hidden=16).eval()
    with torch.no_grad():  # make the correction large so a windowing mistake cannot hide in rounding
        model.pose.decoder.weight.mul_(50)
        model.root.decoder.weight.mul_(50)
    return model


def _track(T: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.02, (T, 1, 3)), axis=0)
    return (standing_pose()[None] + [0.0, 0.0, 4.0] + walk + rng.normal(0, 0.01, (T, 33, 3))).astype(np.float32)


def _reference(model: SmoothNetRefiner, seg: np.ndarray, step: int) -> np.ndarray:
    """Slow, obvious version: an explicit loop over every window, refine it alone, then per frame the mean
    weighted by the frame's position in each window, w(k) = sin^2(pi (k + 1) / (T + 1)) (Hann, no zeros)."""
    n, T = len(seg), model.window
    idx = reflect_index(n, T) if n < T else None
    x = seg[idx] if n < T else seg
    starts = [0] if n < T else list(window_starts(n, T, step))
    total, count = np.zeros_like(x, dtype=np.float64), np.zeros(len(x))
    hann = np.sin(np.pi * (np.arange(T) + 1) / (T + 1)) ** 2
    for s in starts:
        w = torch.as_tensor(x[s:s + T])
        root = 0.5 * (w[:, HIPS[0]] + w[:, HIPS[1]])
        rel = (w - root[:, None]).reshape(T, -1)
        with torch.no_grad():
            r, o = model.refine(rel.T[None], root.T[None])
        total[s:s + T] += hann[:, None, None] * (r[0].T.reshape(T, 33, 3) + o[0].T[:, None]).numpy()
        count[s:s + T] += hann
    return (total / count[:, None, None])[:n]


@pytest.mark.parametrize("n,step,batch", [(40, 1, 256), (40, 3, 256), (8, 1, 256), (9, 5, 256), (40, 1, 4),
                                          (41, 3, 2)])
def test_windowing_matches_reference(tiny: SmoothNetRefiner, n: int, step: int, batch: int,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Also with the windows split into small batches (long tracks go through `WINDOW_BATCH` at a time)."""
    from posebake.smoothing import windows

    monkeypatch.setattr(windows, "WINDOW_BATCH", batch)
    seg = _track(n)
    got = refine_track(tiny, seg, HIPS, step=step)
    ref = _reference(tiny, seg, step)
    assert np.abs(got - seg).max() > 1e-3  # the model really changes the input
    np.testing.assert_allclose(got, ref, atol=2e-5)


def test_short_sequence_is_padded_and_refined(tiny: SmoothNetRefiner) -> None:
    seg = _track(5)
    got = refine_track(tiny, seg, HIPS)
    assert got.shape == seg.shape and np.isfinite(got).all()
    assert np.abs(got - seg).max() > 1e-3
    np.testing.assert_allclose(got, _reference(tiny, seg, 1), atol=2e-5)
    assert list(reflect_index(3, 9)) == [0, 1, 2, 1, 0, 1, 2, 1, 0]


def test_gaps_split_the_track(tiny: SmoothNetRefiner) -> None:
    seq = _track(60)
    seq[20:25] = np.nan
    seq[40] = np.nan
    got = refine_track(tiny, seq, HIPS)
    assert np.isnan(got[20:25]).all() and np.isnan(got[40]).all()
    for a, b in [(0, 20), (25, 40), (41, 60)]:  # each segment refined on its own
        np.testing.assert_allclose(got[a:b], _reference(tiny, seq[a:b], 1), atol=2e-5)


def test_single_frames_unchanged(tiny: SmoothNetRefiner) -> None:
    one = _track(1)
    np.testing.assert_array_equal(refine_track(tiny, one, HIPS), one)
    seq = _track(20)
    seq[9] = seq[11] = np.nan  # frame 10 is an isolated single frame
    np.testing.assert_array_equal(refine_track(tiny, seq, HIPS)[10], seq[10])


@pytest.mark.parametrize("name", ["oneeuro", "savgol", "gaussian"])
def test_filters_reduce_error_on_noisy_sinusoid(name: str) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(300) / 30.0
    clean = np.stack([0.3 * np.sin(2 * np.pi * 0.25 * t), 0.2 * np.cos(2 * np.pi * 0.4 * t), 4 + 0.1 * t], 1)
    clean = np.repeat(clean[:, None], 4, axis=1)
    noisy = clean + rng.normal(0, 0.05, clean.shape)
    noisy[100:105] = np.nan
    out = filters.FILTERS[name](noisy)
    assert np.isnan(out[100:105]).all() and np.isfinite(np.delete(out, range(100, 105), axis=0)).all()
    keep = np.isfinite(noisy).all(axis=(1, 2))
    err = lambda x: np.linalg.norm(x[keep] - clean[keep], axis=-1).mean()  # noqa: E731
    assert err(out) < 0.75 * err(noisy)


@pytest.mark.parametrize("lag1", [0.489, 0.7, None])
def test_sampled_fast_noise_has_the_measured_spread_and_autocorrelation(lag1: float | None) -> None:
    """High-passed like the measured errors (noise.measure_profile), the sampled fast noise must have the
    measured spread and lag-1 autocorrelation; without a measured value it is white (negative after the
    high-pass), so the check can tell the two apart."""
    from scipy.ndimage import gaussian_filter1d

    from posebake_dev.smoothnet.noise import SPLIT_SIGMA, _fast_noise

    x = _fast_noise(np.random.default_rng(0), (64, 600, 3), lag1)
    hp = x - gaussian_filter1d(x, SPLIT_SIGMA, axis=1, mode="wrap")
    r = float((hp[:, 1:] * hp[:, :-1]).sum() / (hp * hp).sum())
    if lag1 is None:
        assert r < -0.1 and abs(x.std() - 1) < 0.02
    else:
        assert abs(r - lag1) < 0.02 and abs(hp.std() - 1) < 0.03, (r, hp.std())


def test_shipped_weights_reduce_jitter_on_real_cmu_motion() -> None:
    """Held-out CMU motion (131_02, never trained on), PoseBake-shaped noise: the shipped T=32 model must
    cut the acceleration error by at least half and not worsen the root-relative position error."""
    from posebake_dev.smoothnet import data
    from posebake_dev.smoothnet.noise import load_profile
    from posebake_dev.smoothnet.train import sequence_metrics, val_sequences

    path = shared_data() / "mocap_bvh" / "cmu_131_02.bvh"
    if not path.is_file():
        pytest.skip("shared CMU data not available")
    assert weights_path(32).is_file()
    assert weights_path(32).stat().st_size < 8e6
    pos = data.load_positions(path)
    seqs = val_sequences({"131_02": pos}, load_profile(), seed=7)
    model = load_refiner(32)
    for clean, noisy in seqs:
        raw = sequence_metrics(noisy, clean)
        out = sequence_metrics(refine_track(model, noisy, data.HIPS), clean)
        assert out["accel_mm"] < 0.5 * raw["accel_mm"], (raw, out)
        assert out["mpjpe_mm"] < raw["mpjpe_mm"], (raw, out)


def _motion(P: int = 2, T: int = 50) -> Motion:
    jc = np.stack([_track(T, seed=p) for p in range(P)])
    jc[0, 10:15] = np.nan
    jc[1, :3] = np.nan
    return Motion(joints_cam=jc, joints_2d=np.zeros((P, T, 33, 2)), visibility=np.ones((P, T, 33)), fps=30.0,
                  K=np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]), image_size=(640, 480))


@pytest.mark.parametrize("method", METHODS)
def test_smooth_motion_keeps_gaps_and_labels(method: str) -> None:
    m = _motion()
    out = smooth_motion(m, method)
    assert out.smoothing == ("smoothnet-T32" if method == "smoothnet" else method)
    assert out is not m and out.joints_cam.shape == m.joints_cam.shape
    np.testing.assert_array_equal(np.isnan(out.joints_cam), np.isnan(m.joints_cam))
    assert m.smoothing == "none"  # the input is untouched
    if method != "none":
        assert np.nanmax(np.abs(out.joints_cam - m.joints_cam)) > 1e-4


def test_unknown_method() -> None:
    from posebake_core.errors import PoseBakeError

    with pytest.raises(PoseBakeError):
        smooth_motion(_motion(), "kalman")


def test_short_training_windows_are_padded_like_inference() -> None:
    """pad_short cuts windows to n < T frames and reflect-pads them exactly as refine_segment pads a short
    segment, and the masked loss ignores whatever the model outputs on the padding."""
    from posebake_dev.smoothnet.train import _l1_with_accel, pad_short
    from posebake.smoothing.windows import reflect_index

    rng = np.random.default_rng(0)
    clean = rng.normal(size=(16, 24, 15, 3)).astype(np.float32)
    noisy = clean + rng.normal(0, 0.05, clean.shape).astype(np.float32)
    c, n, mask = pad_short(np.random.default_rng(1), clean, noisy, frac=1.0)
    for b in range(len(c)):
        k = int(mask[b].sum())
        assert 2 <= k < 24 and mask[b, :k].all()
        np.testing.assert_array_equal(c[b], clean[b, reflect_index(k, 24)])
        np.testing.assert_array_equal(n[b], noisy[b, reflect_index(k, 24)])
    c0, _, mask0 = pad_short(np.random.default_rng(1), clean, noisy, frac=0.0)
    assert mask0.all() and np.array_equal(c0, clean)

    pred, target = torch.randn(4, 6, 24), torch.randn(4, 6, 24)
    m = torch.zeros(4, 24, dtype=torch.bool)
    m[:, :10] = True
    changed = pred.clone()
    changed[..., 10:] += 100.0  # garbage on the padding only
    assert torch.isclose(_l1_with_accel(pred, target, m), _l1_with_accel(changed, target, m))
    assert not torch.isclose(_l1_with_accel(pred, target), _l1_with_accel(changed, target))


@pytest.mark.parametrize("args, message", [(["--noise-profile", "/no/such/profile.json"], "no such file"),
                                           (["--short-frac", "1.5"], "share of the training windows")])
def test_train_smoothnet_refuses_bad_options_before_training(tmp_path, args: list[str], message: str) -> None:
    from tests.bpychild import posebake

    out = tmp_path / "w.pt"
    proc = posebake("train-smoothnet", *args, "-o", out, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not out.exists()


def test_train_smoothnet_runs_end_to_end(tmp_path) -> None:
    """A few steps of the real training command (data, noise, loss, validation, save): a library upgrade that
    breaks the recipe (SciPy 1.17's Euler-angle shapes once did) fails here, not in the next retrain."""
    from tests.bpychild import posebake

    out = tmp_path / "w.pt"
    proc = posebake("train-smoothnet", "--steps", "2", "--batch", "4", "-o", out, "--record", tmp_path / "r.json",
                    timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert load_refiner_file(out).window == 32
    import json

    rec = json.loads((tmp_path / "r.json").read_text())
    assert "02_05" in rec["excluded_motions"] and not set(rec["excluded_motions"]) & set(rec["train_motions"])


def load_refiner_file(path):
    import torch

    from posebake.smoothing.smoothnet import SmoothNetRefiner

    return SmoothNetRefiner.from_state_dict(torch.load(path, map_location="cpu", weights_only=True))
