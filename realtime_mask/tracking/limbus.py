"""The iris as a circle fitted to its limbus edges, not FaceMesh's iris model.

FaceMesh's iris landmarks are learnt, and their centre strays differently in
each eye: on 12 rendered synthetic people at three gazes, the error of the
right-minus-left horizontal iris position had a median of 0.074 iris radii (up
to 0.22). A circle through the iris-to-sclera step, on rays to the left and
right of the iris (the lids cover the top and bottom), had 0.008 (90 % within
0.017): the two eyes' circles stray alike. It needs sclera on both sides, or
the iris radius from the other eye.

A low lid hides the top of the limbus, and the rays there meet the lid's edge
instead: on a synthetic 1 mm ptosis the fit swung between 9.7 and 11.0 px
from frame to frame (the other eye's: 11.0-11.2 px), and the lid margin read
against it between 1.0 and 3.4 mm. Both irises are the same size, so the eye
whose edges fit its circle worse can take the other eye's radius
(tracking/eye_image.py).
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

RAYS_PER_SIDE = 15
SECTOR_DEG = 40.0            # rays within this of horizontal: the lids cover top and bottom
SEARCH = (0.55, 1.55)        # along each ray, in FaceMesh iris radii
STEP_PX = 0.25
REFINE = (0.7, 1.35)         # the second pass, in first-pass radii
OUTER_SAMPLES = 6            # the sclera side of an edge: 1.5 px out
# an edge counts where its sclera side is this far from the profile's iris
# level (25th percentile) to its sclera level (95th)
IRIS_QUANTILE, SCLERA_QUANTILE = 0.25, 0.95
SCLERA_SHARE = 0.6
MIN_EDGES = 8
MIN_SIDE_EDGES = 4
FIXED_RADIUS_STEPS = 5


# rays: the image-left side (0) first, then the image-right side (1)
_ANGLES = np.radians(np.r_[180 + np.linspace(-SECTOR_DEG, SECTOR_DEG, RAYS_PER_SIDE),
                           np.linspace(-SECTOR_DEG, SECTOR_DEG, RAYS_PER_SIDE)])
_DIRS = np.c_[np.cos(_ANGLES), np.sin(_ANGLES)]
_SIDE = np.repeat([0, 1], RAYS_PER_SIDE)


class Limbus(NamedTuple):
    centre: np.ndarray       # pixels
    radius: float            # pixels
    rms: float               # RMS distance of its best three quarters of edges, pixels


def _quantiles(values: np.ndarray, *q: float) -> list[float]:
    """Nearest-rank quantiles (np.percentile costs ~0.1 ms a call)."""
    v = np.sort(values, axis=None)
    return [float(v[min(int(round(x * (v.size - 1))), v.size - 1)]) for x in q]


def _circle(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares circle (algebraic fit)."""
    a = np.empty((len(points), 3))
    a[:, :2], a[:, 2] = 2 * points, 1.0
    s = np.linalg.solve(a.T @ a, a.T @ (points ** 2).sum(1))
    return s[:2], float(np.sqrt(max(s[2] + s[:2] @ s[:2], 0.0)))


def _edges(gray: np.ndarray, centre: np.ndarray, radius: float, search: tuple[float, float]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Edge points (strongest dark-to-bright step on each ray, sub-pixel) and
    which side (0 image left, 1 image right) each came from."""
    t = np.arange(search[0] * radius, search[1] * radius, STEP_PX)
    pts = centre[None, None, :] + t[None, :, None] * _DIRS[:, None, :]
    profile = cv2.remap(gray, pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32),
                        cv2.INTER_LINEAR)
    step = np.diff(cv2.GaussianBlur(profile, (1, 5), 0), axis=1)
    k = np.clip(np.argmax(step, axis=1), 1, step.shape[1] - 2)
    rows = np.arange(len(k))
    a, b, c = step[rows, k - 1], step[rows, k], step[rows, k + 1]
    den = a - 2 * b + c
    sub = np.clip(np.where(np.abs(den) > 1e-6, 0.5 * (a - c) / np.where(den == 0, 1, den), 0.0),
                  -0.5, 0.5)
    edge = centre + (t[0] + (k + 0.5 + sub) * STEP_PX)[:, None] * _DIRS
    ok = b > 0.25 * _quantiles(b[b > 0], 0.5)[0] if (b > 0).any() else np.zeros(len(b), bool)
    # The limbus opens onto the bright sclera. Where the sclera does not show
    # (an eye turned into its corner) the strongest step is another one, such
    # as the pupil's edge: an edge whose outer side is not sclera-bright is none.
    outer = profile[rows, np.minimum(k + OUTER_SAMPLES, profile.shape[1] - 1)]
    iris, sclera = _quantiles(profile, IRIS_QUANTILE, SCLERA_QUANTILE)
    ok &= outer >= iris + SCLERA_SHARE * (sclera - iris)
    return edge[ok], _SIDE[ok]


def _fixed_radius_centre(edge: np.ndarray, radius: float, start: np.ndarray) -> np.ndarray:
    """Least-squares centre of a circle of known radius through the edges
    (a few Gauss-Newton steps: |p - c| = radius)."""
    c = start.astype(np.float64)
    for _ in range(FIXED_RADIUS_STEPS):
        d = c - edge
        dist = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        jac = d / dist[:, None]
        c = c - np.linalg.solve(jac.T @ jac, jac.T @ (dist - radius))
    return c


def _fit(edge: np.ndarray, side: np.ndarray, radius: float | None, fixed: bool = False
         ) -> Limbus | None:
    """Circle through the edges, the worst quarter dropped. One side's arc
    alone cannot tell the centre from the radius: it needs `radius` (known
    from the other eye), else None. fixed: take `radius` even where both
    sides show."""
    both = min(np.sum(side == 0), np.sum(side == 1)) >= MIN_SIDE_EDGES
    if len(edge) < MIN_EDGES or not (both or radius):
        return None
    if both:
        cc, r = _circle(edge)
    else:
        r = float(radius)
        inward = np.array([1.0 if side[0] == 0 else -1.0, 0.0])   # from the arc to the centre
        cc = _fixed_radius_centre(edge, r, edge.mean(0) + r * inward)
    residual = np.abs(np.linalg.norm(edge - cc, axis=1) - r)
    keep = residual <= _quantiles(residual, 0.75)[0]
    if (both and not (fixed and radius)
            and min(np.sum(keep & (side == 0)), np.sum(keep & (side == 1))) >= MIN_SIDE_EDGES):
        cc, r = _circle(edge[keep])
    elif radius:
        r = float(radius)
        cc = _fixed_radius_centre(edge[keep], r, cc)
    else:
        return None
    # how sharply the limbus shows: the edges' RMS distance from the circle,
    # the worst quarter left out
    residual = np.sort(np.abs(np.linalg.norm(edge - cc, axis=1) - r))
    kept = residual[:int(0.75 * len(residual)) + 1]
    return Limbus(cc, r, float(np.sqrt(np.mean(kept ** 2))))


def limbus_circle(gray: np.ndarray, centre: np.ndarray, radius: float,
                  known_radius: float | None = None, fixed: bool = False) -> Limbus | None:
    """Circle (centre in pixels, radius) through the strongest dark-to-bright
    step (iris to sclera) on rays left and right of `centre` (FaceMesh's iris
    centre and radius). A second pass casts the rays again from the first
    circle, so that a stray FaceMesh centre does not start them inside the
    pupil. Where the limbus shows on one side only (an eye turned into its
    corner), `known_radius` (the other eye's) places the circle (with fixed,
    wherever it shows); without it, or where it does not show at all (a
    closed or covered eye), None."""
    try:
        first = _fit(*_edges(gray, centre, radius, SEARCH), known_radius, fixed)
        if first is None:
            return None
        return _fit(*_edges(gray, first.centre, first.radius, REFINE), known_radius, fixed)
    except np.linalg.LinAlgError:       # degenerate edges (all on one line)
        return None


def refit_limbus(gray: np.ndarray, centre: np.ndarray, radius: float) -> Limbus | None:
    """One pass of limbus_circle's rays, cast from a circle already near the
    limbus (the last frame's, say): the new circle, its RMS distance telling
    how sharply the limbus shows, or None where it does not show on both
    sides."""
    try:
        return _fit(*_edges(gray, centre, radius, REFINE), None)
    except np.linalg.LinAlgError:
        return None
