"""The backend installer's decisions (no bpy, nothing installed): which torch, which commands, which wheel
and interpreter it accepts. The real install runs in tests/test_install_backend.py."""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from posebake_blender import install


@pytest.mark.parametrize("system, machine, nvidia, index, label", [
    ("Linux", "x86_64", True, None, "CUDA"),                           # PyPI's Linux torch is the CUDA build
    ("Linux", "x86_64", False, install.TORCH_CPU_INDEX, "CPU"),        # ... so a CPU machine needs the CPU index
    ("Windows", "AMD64", True, install.TORCH_CUDA_INDEX, "CUDA"),      # PyPI's Windows torch is CPU-only
    ("Windows", "AMD64", False, None, "CPU"),
    ("Darwin", "arm64", False, None, "MPS"),
    ("Darwin", "x86_64", False, None, "CPU"),
])
def test_torch_for_each_kind_of_machine(system: str, machine: str, nvidia: bool, index: str | None,
                                        label: str) -> None:
    choice = install.choose_torch(system, machine, nvidia)
    assert choice.requirement == "torch" and choice.index_url == index and choice.label.startswith(label)


def test_plan_installs_torch_alone_first_then_posebake_then_checks_the_models(tmp_path: Path) -> None:
    torch = install.TorchChoice("torch", install.TORCH_CPU_INDEX, "CPU")
    steps = install.plan("/usr/bin/python3.12", tmp_path / "env", "/w/posebake-0.1.0-py3-none-any.whl", torch)
    py = str(install.env_python(tmp_path / "env"))
    assert steps[0].argv == ["/usr/bin/python3.12", "-m", "venv", str(tmp_path / "env")]
    assert steps[1].argv == [py, "-m", "pip", "install", "torch", "--index-url", install.TORCH_CPU_INDEX]
    assert steps[2].argv[-1] == "/w/posebake-0.1.0-py3-none-any.whl[serve]"
    assert [s.argv[-2:] for s in steps[3:]] == [["models", "fetch"], ["models", "info"]]
    # never pip into the interpreter running Blender: every pip runs the new environment's python
    assert all(s.argv[0] == py for s in steps[1:])
    from_index = install.plan(sys.executable, tmp_path / "env", None, torch)
    assert from_index[2].argv[-1] == "posebake[serve]"


def test_wheel_check_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(install.InstallError, match="does not exist"):
        install.check_wheel(str(tmp_path / "missing.whl"))
    junk = tmp_path / "posebake-0.1.0-py3-none-any.whl"
    junk.write_bytes(b"not a zip")
    with pytest.raises(install.InstallError, match="not a readable wheel"):
        install.check_wheel(str(junk))
    other = tmp_path / "other-1.0-py3-none-any.whl"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("other-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: other\nVersion: 1.0\n")
    with pytest.raises(install.InstallError, match="not a PoseBake wheel"):
        install.check_wheel(str(other))
    good = tmp_path / "good" / "posebake-0.1.0-py3-none-any.whl"
    good.parent.mkdir()
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("posebake-0.1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: posebake\nVersion: 0.1.0\n")
    assert install.check_wheel(str(good)) == "posebake 0.1.0"


def test_interpreter_must_be_a_supported_python(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 2 7\n")
    fake.chmod(0o755)
    with pytest.raises(install.InstallError, match="not a Python 3.11-3.13"):
        install.find_base_python(str(fake))
    assert install.find_base_python() and install.python_version(install.find_base_python()) in install.SUPPORTED


def test_environments_go_where_asked_and_never_reuse_a_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POSEBAKE_ENVS", str(tmp_path / "envs"))
    torch = install.TorchChoice("torch", None, "CPU")
    a = install.Installer(sys.executable, None, torch)
    a.env.mkdir(parents=True)
    b = install.Installer(sys.executable, None, torch)
    assert a.env.parent == b.env.parent == tmp_path / "envs" and a.env != b.env
    assert b.log.parent == tmp_path / "envs" and b.log.name == f"{b.env.name}.log"  # the log outlives a failure
