"""The corneal light reflex of each eye (the Hirschberg read-out).

A light near the camera (the screen the patient looks at, or a lamp beside it)
leaves a small bright reflex on each cornea. It sits where the cornea's
curvature centre projects, so its place against the iris centre gives the
eye's line of sight relative to the camera - whatever the face's anatomy.
The landmark read-out (face_model/eyes.py) has to guess where the eyeball sits
behind the lids, and that guess is wrong by 1-2 mm face by face, which is the
floor of its absolute deviation. The two eyes' reflexes do not share it:
clinicians read a strabismus from them (the Hirschberg test).

Per eye: the limbus circle (tracking/limbus.py; FaceMesh's own iris centre
strays by up to 0.2 iris radii), then the brightest small spot inside it after
a white top-hat (a spot brighter than everything within ~2 px, so lid skin or
sclera reaching into the circle do not count), then its sub-pixel centroid.

The angle: the pupil centre lies a lever of about 4.5 mm in front of the
cornea's curvature centre (clinical/units.py), so sin(angle) = (iris centre -
reflex) / lever. The result is the eye's line of sight against the line to the
light: it includes the head's rotation, which is the same for both eyes, so
only the difference between the eyes (the deviation) is read from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..clinical.units import REFLEX_LEVER_RADII

# limbus radii (a 45 deg eye turn); further out, sclera shows between iris and lids
SEARCH_RADIUS = 0.55
MIN_TOPHAT = 30.0           # grey levels above everything within ~2 px
SPOT_SHARE = 0.5            # ... and that much of it above each neighbour 2 px away
LID_MARGIN_PX = 1.0         # the reflex lies this far inside FaceMesh's lid margins
_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


@dataclass(frozen=True)
class Reflex:
    """One eye's corneal reflex against its limbus circle."""
    offset: tuple[float, float]     # reflex minus iris centre, iris radii, image x right, y down
    radius_px: float = 0.0          # the limbus circle's radius

    @property
    def yaw_deg(self) -> float:
        """Line of sight against the line to the light, + = towards the
        patient's left (image right), as MaskParams yaw."""
        return float(np.degrees(np.arcsin(np.clip(-self.offset[0] / REFLEX_LEVER_RADII, -1, 1))))

    @property
    def pitch_deg(self) -> float:
        """+ = up, as MaskParams pitch."""
        return float(np.degrees(np.arcsin(np.clip(self.offset[1] / REFLEX_LEVER_RADII, -1, 1))))


def find_reflex(gray: np.ndarray, limbus: tuple[np.ndarray, float],
                lids: tuple[np.ndarray, np.ndarray]) -> Reflex | None:
    """The reflex inside one eye's limbus circle (eye_image.checked_limbus), between its
    lids (upper and lower margin points, pixels, sorted by x), or None when no
    spot stands out."""
    centre, radius = limbus
    half = int(np.ceil(SEARCH_RADIUS * radius)) + 3
    x0, y0 = int(round(centre[0])) - half, int(round(centre[1])) - half
    if x0 < 0 or y0 < 0 or x0 + 2 * half + 1 > gray.shape[1] or y0 + 2 * half + 1 > gray.shape[0]:
        return None
    crop = gray[y0:y0 + 2 * half + 1, x0:x0 + 2 * half + 1]
    tophat = cv2.morphologyEx(crop, cv2.MORPH_TOPHAT, _KERNEL)
    yy, xx = np.ogrid[0:crop.shape[0], 0:crop.shape[1]]
    inside = np.hypot(xx + x0 - centre[0], yy + y0 - centre[1]) <= SEARCH_RADIUS * radius
    # only the cornea the lids leave open: a lid's edge is a thin bright line too
    cols = np.arange(crop.shape[1]) + x0
    upper, lower = (np.interp(cols, lid[:, 0], lid[:, 1]) for lid in lids)
    inside &= (yy + y0 >= upper + LID_MARGIN_PX) & (yy + y0 <= lower - LID_MARGIN_PX)
    masked = np.where(inside, tophat, 0)
    py, px = np.unravel_index(int(np.argmax(masked)), masked.shape)
    peak = float(masked[py, px])
    if peak < MIN_TOPHAT or not (2 <= py < crop.shape[0] - 2 and 2 <= px < crop.shape[1] - 2):
        return None
    # A spot stands out on all sides; a thin bright line (between a lash line
    # and the iris's dark rim) only across itself.
    around = max(crop[py - 2, px], crop[py + 2, px], crop[py, px - 2], crop[py, px + 2])
    if crop[py, px] - around < SPOT_SHARE * peak:
        return None
    w = np.clip(tophat[py - 1:py + 2, px - 1:px + 2] - 0.3 * peak, 0, None)
    spot = np.array([x0 + px + (w.sum(0) @ np.arange(-1, 2)) / w.sum(),
                     y0 + py + (w.sum(1) @ np.arange(-1, 2)) / w.sum()])
    return Reflex(offset=tuple(float(v) for v in (spot - centre) / radius),
                  radius_px=float(radius))
