"""One-click backend install: a Python environment of its own, outside Blender, with PoseBake and the right torch.

Why a separate environment: Blender's Python must never receive torch (gigabytes, its own numpy, and a
Blender update would wipe it), and Blender 5.1+ runs Python 3.13 while a studio may want another. So the
installer takes a base interpreter (3.11-3.13, found on the machine or given), creates a venv in a new
folder under `envs_dir()`, installs torch for this machine (`choose_torch`), then PoseBake (the wheel
bundled with the extension, a given wheel, or `posebake` from the package index), fetches the models and
verifies them with `posebake models info`. Only an environment that passed all of that is returned (and
becomes the add-on's backend Python); a failed one is deleted and its log kept, so nothing half-built is
ever selected. Standard library only: no bpy here (the operator is in `install_ops.py`), so it is testable
in a plain interpreter.
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from posebake_core.paths import xdg_dir

#: Interpreters PoseBake supports (pyproject's requires-python).
SUPPORTED = ((3, 11), (3, 12), (3, 13))
#: PyTorch's own wheel indexes: PyPI's Linux torch is the CUDA build (several GB) and its Windows torch is
#: CPU-only, so a CPU-only Linux machine and a Windows machine with an NVIDIA GPU need these.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_CUDA_INDEX = "https://download.pytorch.org/whl/cu128"
#: Seconds a step may take: torch's CUDA build is ~3 GB; the rest is small.
STEP_TIMEOUT = 3600
MARKER = "posebake-env.txt"


class InstallError(RuntimeError):
    """Installing failed; the message says at which step, why, and where the log is."""


@dataclass(frozen=True)
class TorchChoice:
    requirement: str
    index_url: str | None
    label: str


def has_nvidia_gpu() -> bool:
    """True when `nvidia-smi -L` lists a GPU (the driver is what a CUDA torch needs)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def choose_torch(system: str | None = None, machine: str | None = None, nvidia: bool | None = None) -> TorchChoice:
    """The torch build for a machine: CUDA where an NVIDIA GPU is (Linux: PyPI's default build; Windows:
    PyTorch's CUDA index), MPS on Apple silicon (PyPI's macOS build has it), the CPU build elsewhere."""
    system = system or platform.system()
    machine = (machine or platform.machine()).lower()
    if system == "Darwin":
        return TorchChoice("torch", None, "MPS (Apple silicon)" if machine in ("arm64", "aarch64") else "CPU")
    nvidia = has_nvidia_gpu() if nvidia is None else nvidia
    if nvidia:
        return TorchChoice("torch", TORCH_CUDA_INDEX if system == "Windows" else None, "CUDA (NVIDIA GPU found)")
    return TorchChoice("torch", TORCH_CPU_INDEX if system == "Linux" else None, "CPU")


def python_version(python: str) -> tuple[int, int] | None:
    """(major, minor) of an interpreter that runs and has venv, else None."""
    try:
        out = subprocess.run([python, "-c", "import sys, venv; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def _candidates() -> list[str]:
    """Interpreters to try, newest first: on the PATH, pyenv's, the usual system places, then the one
    running this code (Blender's own Python: fine as a venv base, never installed into)."""
    found: list[str] = []
    for major, minor in reversed(SUPPORTED):
        name = f"python{major}.{minor}"
        found += [p for p in (shutil.which(name),) if p]
        pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
        found += [str(p) for p in sorted(pyenv.glob(f"{major}.{minor}.*/bin/{name}"), reverse=True)]
        found += [f"/usr/local/bin/{name}", f"/usr/bin/{name}", f"/opt/homebrew/bin/{name}"]
    found.append(getattr(sys, "_base_executable", "") or sys.executable)
    return found


def find_base_python(explicit: str = "") -> str:
    """The interpreter to build the environment from: `explicit` if given (it must be 3.11-3.13), else the
    newest supported one found."""
    if explicit:
        ver = python_version(explicit)
        if ver not in SUPPORTED:
            raise InstallError(f"{explicit} is not a Python 3.11-3.13 with venv (it reports {ver}); "
                               "pick another interpreter")
        return explicit
    seen: set[str] = set()
    for cand in _candidates():
        if cand and cand not in seen and os.path.isfile(cand):
            seen.add(cand)
            if python_version(cand) in SUPPORTED:
                return cand
    raise InstallError("no Python 3.11-3.13 found on this machine: install one (python.org, your package "
                       "manager or pyenv) and pick it in the install settings")


def check_wheel(path: str) -> str:
    """'posebake <version>' read from the wheel's METADATA; a clear error for anything else."""
    p = Path(path)
    if not p.is_file():
        raise InstallError(f"the PoseBake wheel {p} does not exist")
    try:
        with zipfile.ZipFile(p) as zf:
            meta = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
            text = zf.read(meta[0]).decode("utf-8", "replace") if meta else ""
            try:
                bad = zf.testzip()
            except (zlib.error, EOFError, zipfile.BadZipFile) as exc:  # a stream too broken to inflate
                bad = f"a member ({exc})"
    except (zipfile.BadZipFile, zlib.error, OSError) as exc:
        raise InstallError(f"{p.name} is not a readable wheel ({exc}); build it again with `make wheel`") from None
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    if fields.get("Name", "").lower() != "posebake":
        raise InstallError(f"{p.name} is not a PoseBake wheel (its metadata names {fields.get('Name')!r})")
    if bad:
        raise InstallError(f"{p.name} is damaged ({bad} fails its checksum); download or build it again")
    return f"posebake {fields.get('Version', '?')}"


def bundled_wheel() -> str | None:
    """A PoseBake wheel shipped inside the extension (`addon/build.py --with-backend` puts one there)."""
    wheels = sorted((Path(__file__).resolve().parent / "backend_wheel").glob("posebake-*.whl"))
    return str(wheels[-1]) if wheels else None


def envs_dir() -> Path:
    """Where environments go: $POSEBAKE_ENVS, else $XDG_DATA_HOME/posebake/envs, else ~/.local/share/..."""
    env = os.environ.get("POSEBAKE_ENVS")
    return Path(env).expanduser() if env else xdg_dir("DATA", ".local/share") / "envs"


def env_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


@dataclass
class Step:
    label: str
    argv: list[str]


def plan(python: str, env: Path, wheel: str | None, torch: TorchChoice) -> list[Step]:
    """The commands, in order. Torch goes first and alone, so that PoseBake's `torch` requirement is already
    met by the build chosen here instead of whatever the index would pick."""
    py = str(env_python(env))
    torch_cmd = [py, "-m", "pip", "install", torch.requirement]
    if torch.index_url:
        torch_cmd += ["--index-url", torch.index_url]
    return [Step("creating the environment", [python, "-m", "venv", str(env)]),
            Step(f"installing torch ({torch.label})", torch_cmd),
            Step("installing PoseBake", [py, "-m", "pip", "install", f"{wheel or 'posebake'}[serve]"]),
            Step("fetching the models", [py, "-m", "posebake.cli", "models", "fetch"]),
            Step("verifying the models", [py, "-m", "posebake.cli", "models", "info"])]


_NETWORK_SIGNS = ("ResolutionImpossible", "Could not find a version", "No matching distribution", "Failed to establish a new connection",
                  "Temporary failure in name resolution", "Network is unreachable", "ConnectionError")


@dataclass
class Installer:
    """Runs `plan` step by step (in a thread for the UI, or inline with `run`), logging every command's
    output to `log`. `progress` is (steps done, steps in all, what runs now) for a progress bar."""

    python: str
    wheel: str | None
    torch: TorchChoice
    root: Path = field(default_factory=envs_dir)
    env: Path = field(init=False)
    log: Path = field(init=False)
    progress: tuple[int, int, str] = (0, 5, "waiting")
    state: str = "waiting"  # waiting, running, done, failed
    message: str = ""
    result: str | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.env = self.root / f"env-{stamp}"
        n = 1
        while self.env.exists():
            n += 1
            self.env = self.root / f"env-{stamp}-{n}"
        self.log = self.root / f"{self.env.name}.log"

    def run(self, on_step: Callable[[int, int, str], None] | None = None) -> str:
        """Install; returns the new environment's python. Raises `InstallError` (the environment deleted)."""
        self.state = "running"
        try:
            self.result = self._run(on_step)
        except InstallError as exc:  # clean up first: "failed" is final, watchers stop looking then
            shutil.rmtree(self.env, ignore_errors=True)
            self.message, self.state = str(exc), "failed"
            raise
        except BaseException as exc:  # an unexpected failure still must not leave a half environment
            shutil.rmtree(self.env, ignore_errors=True)
            self.message, self.state = f"{type(exc).__name__}: {exc}; log: {self.log}", "failed"
            raise InstallError(self.message) from exc
        self.message, self.state = f"backend installed in {self.env}", "done"
        return self.result

    def _run(self, on_step: Callable[[int, int, str], None] | None) -> str:
        if self.wheel:
            check_wheel(self.wheel)
        self.root.mkdir(parents=True, exist_ok=True)
        steps = plan(self.python, self.env, self.wheel, self.torch)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env["PYTHONNOUSERSITE"] = "1"  # the user's site-packages must not satisfy what the env needs
        with open(self.log, "w", encoding="utf-8") as log:
            log.write(f"PoseBake backend install into {self.env}\nbase python: {self.python}\n"
                      f"wheel: {self.wheel or 'posebake from the package index'}\ntorch: {self.torch}\n")
            for i, step in enumerate(steps):
                self.progress = (i, len(steps), step.label)
                if on_step:
                    on_step(*self.progress)
                log.write(f"\n== {step.label}: {' '.join(step.argv)}\n")
                log.flush()
                try:
                    proc = subprocess.run(step.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          env=env, timeout=STEP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    raise InstallError(f"installing the backend stopped while {step.label}: no end after "
                                       f"{STEP_TIMEOUT} s; log: {self.log}") from None
                if proc.returncode != 0:
                    log.flush()
                    raise InstallError(self._failure(step, proc.returncode))
            (self.env / MARKER).write_text(f"{check_wheel(self.wheel) if self.wheel else 'posebake'}\n"
                                           f"torch: {self.torch.label}\n", encoding="utf-8")
        self.progress = (len(steps), len(steps), "done")
        return str(env_python(self.env))

    def _failure(self, step: Step, code: int) -> str:
        """The failed step's first error line (pip's first ERROR says what; later ones say how to read it)."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        lines = [ln.strip() for ln in text[text.rfind("\n== "):].splitlines()[1:] if ln.strip()]
        errors = [ln for ln in lines if ln.startswith(("ERROR", "posebake: error"))] or lines[-1:]
        why = errors[0] if errors else f"exit {code}"
        hint = " (pip found no installable version: is the network, or the package index, reachable?)" \
            if any(sign in ln for ln in lines for sign in _NETWORK_SIGNS) else ""
        return f"installing the backend failed while {step.label}: {why}{hint}; full log: {self.log}"

    def start(self) -> None:
        """Run in a background thread (the add-on polls `state` and `progress` from a timer)."""
        def work() -> None:
            try:
                self.run()
            except InstallError:
                pass  # state and message say it
        self.state = "running"
        self._thread = threading.Thread(target=work, name="posebake-install", daemon=True)
        self._thread.start()


#: The add-on's install in progress or last finished (one at a time): the operator sets it, the
#: preferences draw `status_line()` from it.
ACTIVE: Installer | None = None


def status_line() -> str:
    """What the preferences show under the button."""
    if ACTIVE is None:
        return ""
    done, total, label = ACTIVE.progress
    if ACTIVE.state == "running":
        return f"Installing ({done + 1}/{total}): {label}..."
    return ACTIVE.message
