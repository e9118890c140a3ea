"""`posebake models fetch|info|check`: obtain, inspect and try the model files."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from posebake_core.errors import PoseBakeError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="fetch, inspect and check the model files")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    f = msub.add_parser("fetch", help="download (or copy with --from) the models, verify and convert them")
    f.add_argument("--from", dest="source", type=Path, help="directory holding the .tflite files (offline)")
    f.set_defaults(func=_fetch)
    i = msub.add_parser("info", help="where the models are, checksums, parameter counts, device")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.add_argument("--device", default="auto")
    i.set_defaults(func=_info)
    c = msub.add_parser("check", help="run detector + landmarks on one real frame and save a preview")
    c.add_argument("--video", type=Path, required=True)
    c.add_argument("--frame", type=int, default=0)
    c.add_argument("--device", default="auto")
    c.add_argument("-o", "--output", type=Path, default=Path("out/models_check.png"))
    c.set_defaults(func=_check)


def _fetch(args: argparse.Namespace) -> int:
    from ..models.fetch import fetch
    from ..models.store import models_dir

    actions = fetch(source=args.source)
    for name, what in actions.items():
        print(f"{name:22s} {what}")
    print(f"models in {models_dir()}")
    return 0


def _info(args: argparse.Namespace) -> int:
    import torch

    from ..device import describe, pick_device
    from ..models import MODELS
    from ..models.runtime import onnx_available, onnx_ok
    from ..models.store import load_model, models_dir, parameter_count, read_manifest, state

    device = pick_device(args.device)
    manifest = read_manifest()
    rows = []
    for name, spec in MODELS.items():
        st = state(name)
        row = {"name": name, "tflite": str(st.tflite), "sha256": spec.sha256,
               "status": "ok" if st.ready else ("corrupted" if st.tflite.exists() and not st.tflite_ok
                                                 else "not converted" if st.tflite_ok else "missing"),
               "torch_file": str(st.torch_file), "torch_sha256": manifest.get(name, {}).get("pt_sha256"),
               "onnx": "ok" if onnx_ok(name) else ("missing" if onnx_available() else "no onnxruntime")}
        row["parameters"] = parameter_count(load_model(name)) if st.ready else None
        rows.append(row)
    info = {"cache": str(models_dir()), "device": describe(device), "torch": torch.__version__, "models": rows}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"cache:  {info['cache']}\ndevice: {info['device']} (torch {info['torch']})")
    for r in rows:
        params = f"{r['parameters']:,}" if r["parameters"] is not None else "-"
        print(f"  {r['name']:22s} {r['status']:13s} onnx {r['onnx']:8s} params {params:>10s}  "
              f"sha256 {r['sha256'][:16]}…  {r['tflite']}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def _check(args: argparse.Namespace) -> int:
    import cv2
    import torch

    from posebake_core.atomic import atomic_path
    from ..crop import FrameBatch
    from ..decode import iter_batches
    from ..detector import PoseDetector
    from ..device import describe, pick_device
    from ..draw import draw_pose
    from ..landmarker import PoseLandmarker
    from ..models.runtime import load_runner

    device = pick_device(args.device)
    frame = next(iter(iter_batches(args.video, batch_size=1, start=args.frame, end=args.frame + 1)))[1][0]
    img = FrameBatch(frame[None], device)
    detections = PoseDetector(load_runner("pose_detection", device), device)(img)[0]
    if len(detections.scores) == 0:
        raise PoseBakeError(f"no person detected in frame {args.frame} of {args.video}")
    rois = detections.rois()
    res = PoseLandmarker(load_runner("pose_landmark_full", device), device)(
        img, rois, torch.zeros(len(rois), dtype=torch.long, device=device))
    preview = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    for p in range(len(rois)):
        w = res.world[p].cpu().numpy()
        shoulder = float(((w[11] - w[12]) ** 2).sum() ** 0.5)
        print(f"person {p}: detector score {float(detections.scores[p]):.3f}, pose flag {float(res.pose_flag[p]):.3f}, "
              f"shoulder width {shoulder:.3f} m, mean visibility {float(res.visibility[p, :33].mean()):.2f}")
        preview = draw_pose(preview, res.image[p].cpu().numpy(), res.visibility[p].cpu().numpy(), p, f"#{p}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.output) as tmp:
        if not cv2.imwrite(str(tmp), preview):
            raise PoseBakeError(f"could not write {args.output}")
    print(f"device {describe(device)}; preview written to {args.output}")
    return 0
