"""Model files (registry, cache, fetch) and the BlazePose model wrappers."""
from .registry import MODELS, ModelSpec
from .store import load_model, models_dir

__all__ = ["MODELS", "ModelSpec", "load_model", "models_dir"]
