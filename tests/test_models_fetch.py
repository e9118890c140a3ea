"""`posebake models fetch/info`: real downloads, no-op refetch, corruption detection, clear failures."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from posebake.models.registry import MODELS

POSEBAKE = [sys.executable, "-m", "posebake.cli"]


def _run(args: list[str], cache: Path, **env: str) -> subprocess.CompletedProcess:
    e = dict(os.environ, POSEBAKE_CACHE=str(cache), **env)
    return subprocess.run(POSEBAKE + args, capture_output=True, text=True, env=e, timeout=600)


@pytest.fixture()
def offline_source(model_files, tmp_path) -> Path:
    """A directory with the real .tflite files, as an offline user would have them."""
    src = tmp_path / "offline"
    src.mkdir()
    for spec in MODELS.values():
        shutil.copy(model_files / spec.filename, src / spec.filename)
    return src


def test_fetch_from_dir_then_noop_then_detects_corruption(offline_source, tmp_path):
    cache = tmp_path / "cache"
    first = _run(["models", "fetch", "--from", str(offline_source)], cache)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("fetched") == len(MODELS)
    for spec in MODELS.values():
        assert (cache / "models" / spec.filename).is_file()
        assert (cache / "models" / f"{spec.name}.pt").is_file()
        assert (cache / "models" / f"{spec.name}.onnx").is_file()  # the CPU engine's copy (models/runtime.py)

    second = _run(["models", "fetch", "--from", str(offline_source)], cache)
    assert second.returncode == 0 and second.stdout.count("ok (cached)") == len(MODELS), second.stdout

    target = cache / "models" / "pose_landmark_full.tflite"
    data = bytearray(target.read_bytes())
    data[5000] ^= 0xFF
    target.write_bytes(bytes(data))
    third = _run(["models", "fetch", "--from", str(offline_source)], cache)
    assert third.returncode == 0, third.stderr
    assert "corrupted" in third.stdout and "re-fetched" in third.stdout
    assert target.read_bytes() == (offline_source / "pose_landmark_full.tflite").read_bytes()

    # A corrupted conversion is rebuilt rather than unpickled.
    pt = cache / "models" / "pose_detection.pt"
    pt.write_bytes(pt.read_bytes()[:1000])
    fourth = _run(["models", "fetch", "--from", str(offline_source)], cache)
    assert "converting pose_detection" in fourth.stdout

    # A conversion made by another importer version is rebuilt, not loaded.
    manifest = cache / "models" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"importer_version": ', '"importer_version": 1000'))
    fifth = _run(["models", "fetch", "--from", str(offline_source)], cache)
    assert fifth.stdout.count("converting") == len(MODELS), fifth.stdout

    info = _run(["models", "info", "--json"], cache)
    assert info.returncode == 0, info.stderr
    assert '"status": "ok"' in info.stdout and '"parameters": 3169489' in info.stdout


def test_real_download_refetches_a_corrupted_file(model_files, tmp_path):
    """The pip path for real: a cache with one corrupted file is repaired from the mediapipe wheel."""
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    for spec in MODELS.values():
        shutil.copy(model_files / spec.filename, cache / "models" / spec.filename)
    (cache / "models" / "hand_landmark_full.tflite").write_bytes(b"TFL3 truncated")
    res = _run(["models", "fetch"], cache)
    assert res.returncode == 0, res.stderr
    assert "downloading mediapipe==0.10.21" in res.stdout
    assert "hand_landmark_full     re-fetched (corrupted)" in res.stdout


def test_checksum_mismatch_from_dir_is_an_error(offline_source, tmp_path):
    (offline_source / "pose_detection.tflite").write_bytes(b"not the model")
    res = _run(["models", "fetch", "--from", str(offline_source)], tmp_path / "cache")
    assert res.returncode == 2
    assert "checksum mismatch for pose_detection.tflite" in res.stderr
    assert not (tmp_path / "cache" / "models" / "pose_detection.tflite").exists()


def test_read_only_cache_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        # root ignores permission bits; a path under a regular file can never be created instead.
        blocker = tmp_path / "file"
        blocker.write_text("x")
        res = _run(["models", "fetch"], blocker / "cache")
        assert res.returncode == 2 and "cannot create the model cache" in res.stderr
        return
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    res = _run(["models", "fetch"], ro / "cache")
    assert res.returncode == 2 and "POSEBAKE_CACHE" in res.stderr


def test_pip_failure_is_a_clear_error(tmp_path):
    res = _run(["models", "fetch"], tmp_path / "cache", PIP_INDEX_URL="http://127.0.0.1:9/simple",
               PIP_NO_INDEX="", PIP_FIND_LINKS="", PIP_RETRIES="0", PIP_TIMEOUT="2", PIP_CONFIG_FILE="/dev/null")
    assert res.returncode == 2
    assert "pip could not download mediapipe==0.10.21" in res.stderr
    assert "--from DIR" in res.stderr


def test_missing_models_error_names_the_fix(tmp_path, monkeypatch):
    from posebake_core.errors import PoseBakeError
    from posebake.models import load_model

    monkeypatch.setenv("POSEBAKE_CACHE", str(tmp_path))
    with pytest.raises(PoseBakeError, match="posebake models fetch"):
        load_model("pose_landmark_full")
