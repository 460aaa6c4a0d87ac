"""Minimal Wavefront OBJ reading for the ICT meshes (positions, UVs, polygons)."""

from __future__ import annotations

import numpy as np


def _floats(lines: list[bytes], width: int) -> np.ndarray:
    if not lines:
        return np.zeros((0, width), np.float32)
    return np.array(b" ".join(lines).split(), dtype=np.float32).reshape(-1, width)


def read_positions(data: bytes) -> np.ndarray:
    """Vertex positions (N, 3) float32 from OBJ text."""
    lines = [ln[2:] for ln in data.splitlines() if ln.startswith(b"v ")]
    return _floats(lines, 3)


def read_mesh(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions (N,3), UVs (M,2), triangle vertex indices (T,3), triangle UV
    indices (T,3) and each triangle's source polygon index (T,). Polygons are
    fan-triangulated; indices are 0-based."""
    pos, uv, tri_v, tri_t, tri_poly = [], [], [], [], []
    poly = 0
    for ln in data.splitlines():
        if ln.startswith(b"v "):
            pos.append(ln[2:])
        elif ln.startswith(b"vt "):
            uv.append(ln[3:])
        elif ln.startswith(b"f "):
            corners = [c.split(b"/") for c in ln[2:].split()]
            v = [int(c[0]) - 1 for c in corners]
            t = [int(c[1]) - 1 if len(c) > 1 and c[1] else -1 for c in corners]
            for k in range(1, len(corners) - 1):
                tri_v.append((v[0], v[k], v[k + 1]))
                tri_t.append((t[0], t[k], t[k + 1]))
                tri_poly.append(poly)
            poly += 1
    return (_floats(pos, 3), _floats(uv, 2)[:, :2],
            np.array(tri_v, np.int32), np.array(tri_t, np.int32), np.array(tri_poly, np.int32))
