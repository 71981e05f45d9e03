"""The interpreters and packages a managed runtime has, rebuilt here for tests and cached under build/."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
BUILD: Final = ROOT / "build" / "runtimes"
READY_MARKER: Final = ".ready"


def isolated_env() -> dict[str, str]:
    """This process's environment without what would put the project's own packages on another interpreter's path."""
    leaking = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    return {name: value for name, value in os.environ.items() if name not in leaking}


def _pyenv_roots() -> list[Path]:
    roots = [Path(os.environ["PYENV_ROOT"])] if os.environ.get("PYENV_ROOT") else []
    if shutil.which("pyenv"):
        completed = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        if completed.returncode == 0 and completed.stdout.strip():
            roots.append(Path(completed.stdout.strip()))
    roots.append(Path.home() / ".pyenv")
    return roots


def _patch_level(interpreter: Path) -> tuple[int, ...]:
    version = interpreter.parents[1].name  # versions/3.13.0/bin/python3.13
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_python(version: str) -> Path:
    """The newest pyenv-installed `python<version>`; fails the test, naming what to install, when none is."""
    candidates = [
        interpreter
        for root in _pyenv_roots()
        for interpreter in root.glob(f"versions/{version}.*/bin/python{version}")
        if interpreter.is_file()
    ]
    if not candidates:
        searched = ", ".join(str(root / "versions") for root in _pyenv_roots())
        pytest.fail(f"no python{version} under {searched}: run `pyenv install {version}` (the template's Runtime)")
    return max(candidates, key=_patch_level)


def _cache_dir(name: str, python: Path, requirements: list[str]) -> Path:
    key = hashlib.sha256("\n".join([str(python), *requirements]).encode()).hexdigest()[:12]
    return BUILD / f"{name}-{key}"


def _build_once(folder: Path, build: list[list[str]]) -> Path:
    """Run the build commands that fill a folder, unless an earlier run finished it."""
    if (folder / READY_MARKER).is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for command in build:
        completed = subprocess.run(command, env=isolated_env(), capture_output=True, text=True, timeout=900,
                                   check=False)  # fmt: skip
        if completed.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
    (folder / READY_MARKER).touch()  # only a finished build is reused
    return folder


def packages_folder(name: str, python: Path, requirements: list[str]) -> Path:
    """A `pip install --target` folder of exact requirements for that interpreter, built once."""
    folder = _cache_dir(name, python, requirements)
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target",
               str(folder), *requirements]  # fmt: skip
    return _build_once(folder, [install])


def clean_venv(name: str, requirements: list[str]) -> Path:
    """A venv with only these requirements (installed without their dependencies), built once.

    Returns the venv's interpreter. Built from the base interpreter, so nothing of the project's
    own environment leaks in (no --system-site-packages).
    """
    base = Path(getattr(sys, "_base_executable", sys.executable))
    folder = _cache_dir(name, base, requirements)
    python = folder / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
               *requirements]  # fmt: skip
    _build_once(folder, [[str(base), "-m", "venv", str(folder)], install])
    return python
