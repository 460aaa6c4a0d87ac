"""Unit conversions shared by the clinical measurements.

MaskParams lids are in iris radii. A standard horizontal visible iris diameter
of 11.7 mm is the ruler, so one iris radius is 5.85 mm.
"""

from __future__ import annotations

import numpy as np

IRIS_DIAMETER_MM = 11.7
IRIS_RADIUS_MM = IRIS_DIAMETER_MM / 2.0
# Hirschberg: the corneal reflex of a light moves against the pupil centre as if
# on a lever of ~4.5 mm (the iris plane to the cornea's curvature centre), i.e.
# about 22 prism dioptres per mm near the centre (adults: ~21-22 Δ/mm, sd ~8 %).
REFLEX_LEVER_MM = 4.5
REFLEX_LEVER_RADII = REFLEX_LEVER_MM / IRIS_RADIUS_MM


def radii_to_mm(value):
    return np.asarray(value, dtype=float) * IRIS_RADIUS_MM


def mm_to_radii(value):
    return np.asarray(value, dtype=float) / IRIS_RADIUS_MM


def prism_dioptres(deg):
    """Deviation angle in degrees -> prism dioptres (100 * tan), sign kept."""
    return 100.0 * np.tan(np.radians(np.asarray(deg, dtype=float)))
