"""Checks on a command's file arguments, made before any work starts: a
mistyped folder or a swapped argument should cost the user one error line,
not minutes of rendering or the input file itself."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..cli import UsageError


def check_outputs(inputs: Iterable[Path], outputs: Iterable[Path | None]) -> None:
    """UsageError when an output would overwrite an input or another output,
    is a folder, or lies in a folder that does not exist (None: not asked for)."""
    taken = {Path(p).resolve(): "an input" for p in inputs}
    for path in (Path(p) for p in outputs if p is not None):
        where = path.resolve()
        if where in taken:
            raise UsageError(f"{path}: is {taken[where]}; give each output its own file name")
        if where.is_dir():
            raise UsageError(f"{path}: is a folder, give a file name")
        if not where.parent.is_dir():
            raise UsageError(f"{path}: the folder {path.parent} does not exist")
        taken[where] = "another output"
