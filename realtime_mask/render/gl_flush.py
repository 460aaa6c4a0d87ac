"""glFlush for the calling thread's GL context. ModernGL offers finish (which
waits for the frame) but not flush (which hands the queued draws to the driver
and returns); the renderer flushes between bands of the face (renderer.py)."""

from __future__ import annotations

import ctypes
from typing import Callable


def _load() -> Callable[[], None] | None:
    # ModernGL's EGL backend resolves GL entry points the same way
    try:
        egl = ctypes.CDLL("libEGL.so.1")
        egl.eglGetProcAddress.restype = ctypes.c_void_p
        egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
        address = egl.eglGetProcAddress(b"glFlush")
    except (OSError, AttributeError):
        address = None
    return ctypes.CFUNCTYPE(None)(address) if address else None


_flush = _load()
HAS_FLUSH = _flush is not None


def gl_flush() -> None:
    # a flush only starts work early: without one the frame is the same
    if _flush is not None:
        _flush()
