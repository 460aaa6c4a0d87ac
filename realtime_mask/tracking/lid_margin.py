"""The upper lid margin found in the pixels above the limbus circle.

FaceMesh's lid points, read through the eye calibration, give an MRD1 that
differs between a face's two eyes although they are drawn alike (on synthetic
patients the right eye read about 1.5 mm higher than the left), and they
shrink lid moves (benchmarks/lid_response.py: slope ~0.7). The pixels show the
margin directly:

  - the iris is the limbus circle (tracking/limbus.py), its radius the ruler;
  - the eye's expected grey levels come from the centre row, which no lid
    reaches: a radial profile to each side (pupil, iris, limbal ring, sclera);
  - columns through the iris 0.5-0.7 iris radii either side of its centre
    (clear of the pupil and the corneal reflex) are scanned upwards: the lid
    starts where two samples in a row leave the expected profile by 30 % of
    the sclera-to-iris contrast (where the profile expects sclera, only
    darker: the sclera above the iris is often lit brighter than beside it,
    and a lid lagging high above an eye looking down read 3-4 mm low, the
    columns stopping at that brighter sclera), taken back to where the
    departure begins (samples leaning the same way by half as much);
  - FaceMesh's upper-lid polyline, shifted vertically onto those points, gives
    the margin's height above the iris centre: its shape, not its height;
  - where sclera shows above the iris (on one side, every column meets the
    lid clear of the limbus), those columns meet the lid on its flanks, below
    its arch: the lid is read over the iris's middle instead, each column
    scanned up from just above the limbus where it crosses (a lid a pixel or
    two clear of the limbus shows only that sliver of sclera) to where the
    grey level falls halfway from the sclera to the lid.

benchmarks/lid_margin_check.py: over 18 eyes of synthetic patients (normal,
1 mm ptosis, 7 mm retraction, three faces each) the median error is 0.19 mm
(0.35 mm with the flank columns alone, which read the 7 mm lids 5.9-6.3 mm;
now 6.1-6.8 mm), against 1.1 mm for the calibrated landmark read-out before it
was anchored to this margin (face_model/lid_anchor.py). Lids drawn 6.4 mm
high (a sliver of sclera over the middle) read 0.04 iris radii low (median
over six synthetic faces and the avatar; 0.11 when the middle scan started
at a fixed 1.08 radii, above such a lid).
"""

from __future__ import annotations

import cv2
import numpy as np

STEP = 0.05                            # limbus radii along a column
RADII = np.arange(0.0, 1.6, STEP)      # the centre row's radial profile
IRIS_RING = (0.5, 0.75)                # where the centre row shows the iris's own level
SCLERA_RING = (1.15, 1.45)             # ... and the sclera's
COLUMNS = np.array([-0.7, -0.6, -0.5, 0.5, 0.6, 0.7])   # limbus radii from the centre
REACH = 1.9                            # limbus radii scanned above the centre
CONTRAST_SHARE, MIN_CONTRAST = 0.3, 20.0   # grey levels off the expected profile
MIN_COLUMNS = 3
SHOW = 0.1                             # limbus radii between limbus and lid: sclera shows
MIDDLE = np.array([-0.3, -0.15, 0.0, 0.15, 0.3])   # limbus radii from the centre
MIDDLE_CLEAR = 0.05                    # limbus radii above the limbus where the middle scan starts
MIDDLE_SPAN = 1.0                      # ... and how far up it goes
MIN_MIDDLE = 2
EDGE_SAMPLES = 5                       # where the lid's dark level is taken
_UP = np.arange(0.0, REACH, STEP)
_IRIS = np.tile((RADII > IRIS_RING[0]) & (RADII < IRIS_RING[1]), 2)
_SCLERA = np.tile((RADII > SCLERA_RING[0]) & (RADII < SCLERA_RING[1]), 2)
# Where each column sample falls on the centre row's radial profile (constant
# in limbus radii): linear interpolation between two profile samples.
_AT = np.clip(np.hypot(COLUMNS[:, None], _UP[None, :]) / STEP, 0, len(RADII) - 1.0)
_LO = np.minimum(_AT.astype(int), len(RADII) - 2)
_W = (_AT - _LO).astype(np.float32)
_SIDE = np.repeat((COLUMNS > 0).astype(int)[:, None], len(_UP), 1)   # 0 image left, 1 right
_INDEX = np.arange(len(_UP))
# Heights scanned by each middle column, from just above the limbus where it crosses
_MID_FROM = np.sqrt(1.0 - MIDDLE ** 2) + MIDDLE_CLEAR
_MID_UP = _MID_FROM[:, None] + np.arange(0.0, MIDDLE_SPAN, STEP)[None, :]
_MID_INDEX = np.arange(_MID_UP.shape[1])


def _sample(gray: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return cv2.remap(gray, np.atleast_2d(x).astype(np.float32),
                     np.atleast_2d(y).astype(np.float32), cv2.INTER_LINEAR)


def _columns(gray: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Grey levels down each column x at the rows ys, shared (n,) or one row
    of them per column (len(xs), n): (len(xs), n)."""
    ys = np.broadcast_to(ys, (len(xs), np.shape(ys)[-1]))
    return _sample(gray, np.repeat(xs[:, None], ys.shape[1], 1), ys)


def upper_lid_margin(gray: np.ndarray, limbus: tuple[np.ndarray, float],
                     upper_polyline: np.ndarray) -> float | None:
    """Height of the upper lid margin above the limbus centre, in limbus radii
    (+ = above), or None where fewer than MIN_COLUMNS columns find it.
    gray: float32 image; limbus: (centre, radius) in pixels; upper_polyline:
    FaceMesh's upper lid margin, corners included (pixels, sorted by x)."""
    (cx, cy), radius = limbus
    row = _sample(gray, np.r_[cx - RADII * radius, cx + RADII * radius],
                  np.full(2 * len(RADII), cy))[0]
    iris, sclera = float(np.median(row[_IRIS])), float(np.median(row[_SCLERA]))
    tolerance = max(CONTRAST_SHARE * abs(sclera - iris), MIN_CONTRAST)
    sides = row.reshape(2, len(RADII))                   # image left, image right
    expected = sides[_SIDE, _LO] * (1 - _W) + sides[_SIDE, _LO + 1] * _W
    xs = cx + COLUMNS * radius
    profiles = _columns(gray, xs, cy - _UP * radius)
    signed = profiles - expected
    off = np.abs(signed)
    # Where sclera is expected a lid is darker: sclera lit brighter than beside
    # the iris (above it, the light from above) is no lid.
    over_sclera = expected >= 0.5 * (iris + sclera)
    away = np.where(over_sclera, -signed, off) > tolerance
    departs = away[:, :-1] & away[:, 1:]                 # two samples in a row
    first = departs.argmax(axis=1)
    # a column counts where it starts on the eye (no lid over its start) and departs
    ok = departs.any(axis=1) & (np.median(off[:, :3], axis=1) <= 0.5 * tolerance)
    if ok.sum() < MIN_COLUMNS:
        return None
    # Back to where the departure begins: after the last sample before it that
    # does not lean the same way by half as much. (The sclera above the iris is
    # often lit brighter than beside it: a lid darker than the sclera must not
    # reach back through that.)
    lean = signed * np.sign(signed[np.arange(len(first)), first])[:, None]
    fits = (lean <= 0.5 * tolerance) & (_INDEX[None, :] < first[:, None])
    begin = np.where(fits, _INDEX[None, :], -1).max(axis=1) + 1
    found_x, found_h = xs[ok], _UP[begin[ok]] - 0.5 * STEP
    shown = found_h - np.sqrt(1 - COLUMNS[ok] ** 2)
    if any((shown[side].size >= 2) and (shown[side].min() > SHOW)
           for side in (COLUMNS[ok] < 0, COLUMNS[ok] > 0)):
        mid_x, mid_h = _over_the_middle(gray, cx, cy, radius, sclera, tolerance)
        if len(mid_x) >= MIN_MIDDLE:
            found_x, found_h = mid_x, mid_h
    found_y = cy - found_h * radius
    px, py = upper_polyline[:, 0], upper_polyline[:, 1]
    lid_y = np.interp(cx, px, py) + np.median(found_y - np.interp(found_x, px, py))
    return float((cy - lid_y) / radius)


def _over_the_middle(gray: np.ndarray, cx: float, cy: float, radius: float,
                     sclera_level: float, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """(column x in pixels, lid height in limbus radii) over the iris's middle,
    where sclera shows above it. Scanned up from just above the limbus, the
    sclera is the brightest of the first samples (a column whose brightest is
    darker than the centre row's sclera by the tolerance starts on the lid,
    and counts not); the lid is where two samples in a row are darker than it
    by the tolerance, its edge where the grey level falls halfway from the
    sclera to the lid's darkest nearby."""
    xs = cx + MIDDLE * radius
    profiles = _columns(gray, xs, cy - _MID_UP * radius)
    lead = profiles[:, :3]
    sclera = lead.max(axis=1)
    dark = profiles < sclera[:, None] - tolerance
    departs = dark[:, :-1] & dark[:, 1:] & (_MID_INDEX[None, :-1] > lead.argmax(axis=1)[:, None])
    found = np.flatnonzero(departs.any(axis=1) & (sclera >= sclera_level - tolerance))
    heights = []
    for i in found:
        j = int(departs[i].argmax())
        half = 0.5 * (sclera[i] + profiles[i, j:j + EDGE_SAMPLES].min())
        k = j - 1 + int(np.argmax(profiles[i, j:] < half))   # the last sample above half
        above, below = profiles[i, k], profiles[i, k + 1]
        edge = np.clip((above - half) / max(above - below, 1e-6), 0, 1)
        heights.append(_MID_UP[i, k] + STEP * edge)
    return xs[found], np.array(heights)
