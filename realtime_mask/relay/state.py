"""Where a running `serve` leaves its URL and admin secret for `room new`.

The file is created with mode 0600 in the user's cache directory: the secret lets
its holder create consultations on that server, nothing more.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..paths import cache_dir


def state_path() -> Path:
    return cache_dir() / "server.json"


def write_state(url: str, admin_secret: str, path: Path | None = None) -> Path:
    path = path or state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"url": url, "admin_secret": admin_secret, "pid": os.getpid()}, f)
    return path


def read_state(path: Path | None = None) -> dict | None:
    path = path or state_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
