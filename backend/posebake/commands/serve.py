"""`posebake serve`: the local backend the Blender add-on talks to (models kept warm, jobs queued)."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the local backend service for the Blender add-on",
                       description="Run the local HTTP backend for the Blender add-on. Every route but /health "
                                   "needs 'Authorization: Bearer <token>'; the token is created on first start "
                                   "in $POSEBAKE_CONFIG, else $XDG_CONFIG_HOME/posebake/service.json, else "
                                   "~/.config/posebake/service.json (mode 0600).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--workers", type=int, default=1, help="jobs run at the same time (one model set each)")
    p.add_argument("--allowed-root", type=Path, action="append", default=[], metavar="DIR",
                   help="directory whose videos may be submitted by local path (repeatable; default: none)")
    p.add_argument("--state-dir", type=Path, help="jobs, uploads and results (default "
                                                  "$XDG_STATE_HOME/posebake/service or ~/.local/state/...)")
    p.add_argument("--max-upload", default="2G", help="largest accepted upload, e.g. 2G, 500M (default 2G)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from ..device import describe
    from ..estimate import Estimator
    from ..service.app import create_app
    from ..service.auth import load_or_create_token
    from ..service.config import LOOPBACK_HOSTS, ServiceConfig, lock_state_dir, parse_size
    from ..service.jobs import JobManager
    from ..service.store import JobStore

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("posebake.service")
    kwargs = {"state_dir": args.state_dir} if args.state_dir else {}
    cfg = ServiceConfig(host=args.host, port=args.port, workers=args.workers, device=args.device,
                        allowed_roots=tuple(args.allowed_root), max_upload_bytes=parse_size(args.max_upload),
                        **kwargs)
    if cfg.host not in LOOPBACK_HOSTS:
        log.warning("binding to %s: other machines on the network can reach this service; it still needs "
                    "the token, but it is meant for 127.0.0.1", cfg.host)
    cfg.make_dirs()
    lock = lock_state_dir(cfg.state_dir)  # held until the process exits
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    token = load_or_create_token(cfg.config_file, url=f"http://{host}:{cfg.port}")
    log.info("loading the models on %s (%d worker(s))", args.device, cfg.workers)
    estimators = [Estimator(args.device) for _ in range(cfg.workers)]  # warm before the first request
    device = estimators[0].device
    manager = JobManager(JobStore(cfg.jobs_dir, cfg.uploads_dir, cfg.results_dir), estimators, device=str(device))
    manager.start()
    info = {"device": describe(device), "models_loaded": ["pose_detection", "pose_landmark_full"],
            "workers": cfg.workers}
    app = create_app(cfg, manager, token, info)
    log.info("token in %s; state in %s; local paths allowed under: %s", cfg.config_file, cfg.state_dir,
             ", ".join(map(str, cfg.allowed_roots)) or "nowhere (uploads only)")
    try:
        uvicorn.run(app, host=cfg.host, port=cfg.port, log_level=args.log_level,
                    access_log=args.log_level == "debug")
    finally:
        lock.close()
    return 0
