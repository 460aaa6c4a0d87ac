"""Load the GLSL sources from the repository's shaders/ folder.

The package is installed in editable mode, so the folder is found relative to
this file; REALTIME_MASK_SHADERS overrides it (e.g. for a non-editable install)."""

from __future__ import annotations

import os
from pathlib import Path

INCLUDE = "// #include lighting.glsl (prepended by the loader)"


def shader_dir() -> Path:
    env = os.environ.get("REALTIME_MASK_SHADERS")
    d = Path(env) if env else Path(__file__).resolve().parents[2] / "shaders"
    if not (d / "avatar.vert").is_file():
        raise FileNotFoundError(f"GLSL shaders not found in {d} (set REALTIME_MASK_SHADERS)")
    return d


def load_shader(name: str, defines: tuple[str, ...] = ()) -> str:
    """A shader's source with the shared lighting code inserted where asked and
    `#define NAME` lines after the #version line (compile-time variants: code
    a variant does not use costs nothing per vertex or pixel)."""
    d = shader_dir()
    src = (d / name).read_text(encoding="utf-8")
    if INCLUDE in src:
        src = src.replace(INCLUDE, (d / "lighting.glsl").read_text(encoding="utf-8"))
    if defines:
        version, rest = src.split("\n", 1)
        src = "\n".join([version, *(f"#define {n}" for n in defines), rest])
    return src
