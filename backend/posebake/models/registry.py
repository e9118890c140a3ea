"""Which model files PoseBake uses, where they come from, and their recorded checksums.

The weights are MediaPipe's BlazePose / hand models (Apache-2.0), shipped as .tflite inside the PyPI wheel
`mediapipe==0.10.21` (newer wheels no longer carry them). We always download the same wheel (cp311,
manylinux x86_64) whatever the host, because only the files inside it matter and their checksums are
pinned here.
"""
from __future__ import annotations

from dataclasses import dataclass

WHEEL_REQUIREMENT = "mediapipe==0.10.21"
WHEEL_PLATFORM_ARGS = ("--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
                       "--platform", "manylinux_2_28_x86_64")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    member: str  # path inside the wheel
    sha256: str
    input_size: int
    #: The outputs PoseBake reads (None: all); the rest are pruned from the graph (e.g. the landmark
    #: model's 256x256 segmentation mask, never used).
    outputs: tuple[int, ...] | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}.tflite"


MODELS: dict[str, ModelSpec] = {m.name: m for m in (
    ModelSpec("pose_detection", "mediapipe/modules/pose_detection/pose_detection.tflite",
              "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", 224),
    ModelSpec("pose_landmark_full", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
              "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", 256,
              (0, 1, 3, 4)),
    ModelSpec("palm_detection_full", "mediapipe/modules/palm_detection/palm_detection_full.tflite",
              "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54", 192),
    ModelSpec("hand_landmark_full", "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
              "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3", 224,
              (0, 1, 2, 3)),
)}
