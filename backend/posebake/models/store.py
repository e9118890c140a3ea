"""The model cache: layout, verification, conversion to torch, and loading.

Layout under `posebake.paths.cache_dir()/models`:
    NAME.tflite      the original file, checked against the SHA-256 in `registry.MODELS`
    NAME.pt          the converted torch module (a pickled fx.GraphModule built by `posebake.tflite`)
    manifest.json    for each NAME: the .tflite and .pt checksums, written after a successful conversion

The .pt is only unpickled when its checksum matches the manifest we wrote, so a truncated or corrupted
conversion is rebuilt rather than loaded.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from posebake_core.atomic import atomic_path
from posebake_core.errors import PoseBakeError
from ..paths import cache_dir
from .registry import MODELS, ModelSpec


def models_dir() -> Path:
    return cache_dir() / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ModelState:
    spec: ModelSpec
    tflite: Path
    torch_file: Path
    tflite_ok: bool
    torch_ok: bool

    @property
    def ready(self) -> bool:
        return self.tflite_ok and self.torch_ok


def _manifest_path() -> Path:
    return models_dir() / "manifest.json"


def read_manifest() -> dict[str, dict[str, str]]:
    try:
        return json.loads(_manifest_path().read_text())
    except (OSError, ValueError):
        return {}


def write_manifest(manifest: dict[str, dict[str, str]]) -> None:
    with atomic_path(_manifest_path()) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))


def state(name: str) -> ModelState:
    """Check what is in the cache for model `name` (hashing the files: a few ms each)."""
    spec = MODELS[name]
    tfl = models_dir() / spec.filename
    pt = models_dir() / f"{name}.pt"
    tflite_ok = tfl.is_file() and sha256_file(tfl) == spec.sha256
    entry = read_manifest().get(name, {})
    from ..tflite import IMPORTER_VERSION

    torch_ok = (tflite_ok and pt.is_file() and entry.get("tflite_sha256") == spec.sha256
                and entry.get("importer_version") == IMPORTER_VERSION
                and entry.get("pt_sha256") == sha256_file(pt))
    return ModelState(spec, tfl, pt, tflite_ok, torch_ok)


def ensure_cache_writable() -> Path:
    """Create the cache directory, or explain clearly why it cannot be used."""
    d = models_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PoseBakeError(f"cannot create the model cache {d}: {exc.strerror}; "
                            "set POSEBAKE_CACHE to a writable directory") from exc
    if not os.access(d, os.W_OK | os.X_OK):
        raise PoseBakeError(f"the model cache {d} is read-only; set POSEBAKE_CACHE to a writable directory")
    return d


def install_tflite(name: str, data: bytes) -> Path:
    """Verify `data` against the recorded checksum and write it into the cache atomically."""
    spec = MODELS[name]
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise PoseBakeError(f"checksum mismatch for {spec.filename}: got {digest}, expected {spec.sha256} "
                            "(the file is corrupted or a different model version)")
    target = models_dir() / spec.filename
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def convert(name: str) -> Path:
    """Build the torch module from the cached .tflite and store it as NAME.pt, recording its checksum."""
    from ..tflite import IMPORTER_VERSION, load_tflite

    st = state(name)
    if not st.tflite_ok:
        raise PoseBakeError(f"{st.tflite} is missing or corrupted; run `posebake models fetch`")
    module = load_tflite(st.tflite)
    with atomic_path(st.torch_file) as tmp:
        torch.save(module, tmp)
    manifest = read_manifest()
    manifest[name] = {"tflite_sha256": st.spec.sha256, "pt_sha256": sha256_file(st.torch_file),
                      "importer_version": IMPORTER_VERSION}
    write_manifest(manifest)
    return st.torch_file


def load_model(name: str, device: torch.device | str = "cpu") -> torch.nn.Module:
    """Load a converted model onto `device`, in eval mode, with gradients off."""
    if name not in MODELS:
        raise PoseBakeError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    st = state(name)
    if not st.ready:
        what = "missing" if not st.tflite.exists() else "not converted or corrupted"
        raise PoseBakeError(f"model {name} is {what} in {models_dir()}; run `posebake models fetch`")
    if torch.device(device).type == "cpu":
        from ..device import configure_cpu_threads

        configure_cpu_threads()  # flush-to-zero: without it denormals make CPU inference ~6x slower
    module = torch.load(st.torch_file, map_location=device, weights_only=False)
    module.eval().requires_grad_(False)
    return module


def parameter_count(module: torch.nn.Module) -> int:
    """Number of weights (the importer stores them as buffers, since nothing trains them)."""
    return sum(b.numel() for b in module.buffers()) + sum(p.numel() for p in module.parameters())
