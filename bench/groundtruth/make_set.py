"""(Re)render the committed ground-truth set, one clip at a time.

    python bench/groundtruth/make_set.py                # render clips that are missing
    python bench/groundtruth/make_set.py --force        # re-render all of them
    python bench/groundtruth/make_set.py --only walk_side
    python bench/groundtruth/make_set.py --extra my_specs.json --out /tmp/gt   # extend the set

A spec is a dict with name, motion (path under the shared data), camera, size, start, seconds, and
optionally asf and seed; --extra takes a JSON list of such dicts. Each clip is rendered by render.py in
its own process (pip bpy can hang at exit, hence the timeout), sequentially because the machine's few
cores are shared. A manifest.json beside the clips records the specs and the measured render time.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "backend"))
from posebake.paths import shared_data  # noqa: E402

SPECS: list[dict] = [
    {"name": "walk_side", "motion": "mocap_bvh/cmu_walk_delfem2.bvh", "camera": "side",
     "size": "640x480", "start": 0.3, "seconds": 2.4, "seed": 1},
    {"name": "run_three_quarter", "motion": "mocap_amc/02_03.amc", "camera": "three-quarter",
     "size": "640x480", "start": 0.0, "seconds": 1.4, "seed": 2},
    {"name": "hop_elevated", "motion": "mocap_bvh/cmu_131_03.bvh", "camera": "elevated",
     "size": "640x480", "start": 2.5, "seconds": 3.0, "seed": 3},
    {"name": "jump_close_pan", "motion": "mocap_amc/02_04.amc", "camera": "close",
     "size": "1280x720", "start": 0.25, "seconds": 2.5, "seed": 4},
    {"name": "forward_jumps_tracking", "motion": "mocap_bvh/cmu_01_01.bvh", "camera": "tracking",
     "size": "1280x720", "start": 1.0, "seconds": 2.5, "seed": 5},
    {"name": "walk_far", "motion": "mocap_amc/02_02.amc", "camera": "far",
     "size": "1280x720", "start": 0.0, "seconds": 2.0, "seed": 6},
]


def command(spec: dict, out_dir: Path, python: str = sys.executable) -> list[str]:
    """The render.py command line for one spec (always with --mask, which the tests use)."""
    data = shared_data()
    cmd = [python, str(HERE / "render.py"), "--motion", str(data / spec["motion"]),
           "--camera", spec["camera"], "--size", spec["size"], "--start", str(spec["start"]),
           "--seconds", str(spec["seconds"]), "--seed", str(spec.get("seed", 0)),
           "-o", str(out_dir / spec["name"]), "--mask"]
    if spec.get("asf"):
        cmd += ["--asf", str(data / spec["asf"])]
    if spec.get("samples"):
        cmd += ["--samples", str(spec["samples"])]
    return cmd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE / "clips")
    ap.add_argument("--only", action="append", help="render only these names (repeatable)")
    ap.add_argument("--extra", type=Path, help="JSON list of further specs")
    ap.add_argument("--force", action="store_true", help="re-render clips that already exist")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per clip")
    args = ap.parse_args(argv)

    specs = list(SPECS)
    if args.extra:
        specs += json.loads(args.extra.read_text())
    if args.only:
        specs = [s for s in specs if s["name"] in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    failed = 0
    for spec in specs:
        if (args.out / f"{spec['name']}_gt.npz").exists() and not args.force:
            print(f"{spec['name']}: exists, skipped")
            continue
        t0 = time.perf_counter()
        proc = subprocess.run(["timeout", str(args.timeout), *command(spec, args.out)],
                              capture_output=True, text=True)
        took = time.perf_counter() - t0
        last = [ln for ln in proc.stdout.splitlines() if ln.startswith(("rendered", "warning"))]
        if proc.returncode != 0:
            failed += 1
            print(f"{spec['name']}: FAILED ({proc.returncode})\n{proc.stderr[-2000:]}")
            continue
        print(f"{spec['name']}: {' | '.join(last)} ({took:.0f} s)", flush=True)
        last = [ln.split(" -> ")[0] for ln in last]  # no machine-specific paths in the manifest
        manifest[spec["name"]] = {**spec, "render_log": last, "wall_seconds": round(took, 1)}
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
