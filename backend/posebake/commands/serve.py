"""`posebake serve`: the local backend the Blender add-on talks to (models kept warm, jobs queued)."""
from __future__ import annotations

import argparse
import socket
from pathlib import Path

from ..argtypes import positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the local backend service for the Blender add-on",
                       description="Run the local HTTP backend for the Blender add-on. Every route but /health "
                                   "needs 'Authorization: Bearer <token>'; the token is created on first start "
                                   "in $POSEBAKE_CONFIG, else $XDG_CONFIG_HOME/posebake/service.json, else "
                                   "~/.config/posebake/service.json (mode 0600).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port to bind (0: any free port; service.json records "
                                                           "the one bound)")
    p.add_argument("--workers", type=positive_int, default=1, help="jobs run at the same time (one model set each)")
    p.add_argument("--allowed-root", type=Path, action="append", default=[], metavar="DIR",
                   help="directory whose videos may be submitted by local path (repeatable; default: none)")
    p.add_argument("--state-dir", type=Path, help="jobs, uploads and results (default "
                                                  "$XDG_STATE_HOME/posebake/service or ~/.local/state/...)")
    p.add_argument("--max-upload", default="2G", help="largest accepted upload, e.g. 2G, 500M (default 2G)")
    p.add_argument("--upload-timeout", type=positive_float, default=60.0, metavar="S",
                   help="drop an upload (or request body) that sends no data for this many seconds (default 60)")
    p.add_argument("--keep-hours", type=positive_float, default=24.0 * 7, metavar="H",
                   help="forget finished jobs and their results after this many hours (default 168)")
    p.add_argument("--keep-jobs", type=positive_int, default=200, metavar="N",
                   help="keep at most this many finished jobs, the newest (default 200)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is recorded: a second server on a busy port fails here,
    with a clear error, instead of pointing the add-on at an address it does not serve."""
    from posebake_core.errors import PoseBakeError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise PoseBakeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                            + (" (another `posebake serve`? stop it, or pick another --port)"
                               if exc.errno in (98, 48, 10048) else "")) from None


def client_url(sock: socket.socket, host: str) -> str:
    """The URL a client on this machine connects to: the port actually bound (for --port 0), and a loopback
    address for a wildcard bind (0.0.0.0 and :: are not addresses anyone can connect to)."""
    port = sock.getsockname()[1]
    connect = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{connect}]:{port}" if ":" in connect else f"http://{connect}:{port}"


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
                        upload_timeout_s=args.upload_timeout, keep_hours=args.keep_hours, keep_jobs=args.keep_jobs,
                        **kwargs)
    if cfg.host not in LOOPBACK_HOSTS:
        log.warning("binding to %s: other machines on the network can reach this service; it still needs "
                    "the token, but it is meant for 127.0.0.1", cfg.host)
    cfg.make_dirs()
    lock = lock_state_dir(cfg.state_dir)  # held until the process exits
    sock = bind(cfg.host, cfg.port)
    try:
        token = load_or_create_token(cfg.config_file)
        log.info("loading the models on %s (%d worker(s))", args.device, cfg.workers)
        estimators = [Estimator(args.device) for _ in range(cfg.workers)]  # warm before the first request
        device = estimators[0].device
        manager = JobManager(JobStore(cfg.jobs_dir, cfg.uploads_dir, cfg.results_dir), estimators,
                             device=str(device), keep_hours=cfg.keep_hours, keep_jobs=cfg.keep_jobs)
        manager.start()
        info = {"device": describe(device), "models_loaded": ["pose_detection", "pose_landmark_full"],
                "workers": cfg.workers}
        app = create_app(cfg, manager, token, info)
        url = client_url(sock, cfg.host)
        load_or_create_token(cfg.config_file, url=url)  # only now: the socket is bound and the models loaded
        log.info("serving on %s; token in %s; state in %s; local paths allowed under: %s", url, cfg.config_file,
                 cfg.state_dir, ", ".join(map(str, cfg.allowed_roots)) or "nowhere (uploads only)")
        server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, access_log=args.log_level == "debug",
                                               timeout_keep_alive=5))
        server.run(sockets=[sock])
    finally:
        sock.close()
        lock.close()
    return 0
