"""What each eye's pixels show beyond FaceMesh's landmarks: the corneal reflex
(tracking/reflex.py) and the upper lid margin (tracking/lid_margin.py), both
measured against one limbus circle fit (tracking/limbus.py) per eye.

A read costs about 3 ms for both eyes (mostly the limbus fits; the lid
margin ~0.3 ms an eye), so the pipeline reads every few frames; the anchors
it feeds keep 10 s medians."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .landmarks import EYE_CONTOURS, Landmarks
from .lid_margin import upper_lid_margin
from .limbus import Limbus, limbus_circle
from .reflex import Reflex, find_reflex

MIN_IRIS_RADIUS_PX = 3.0    # smaller irises cannot place a reflex or a margin
MAX_CENTRE_SHIFT = 0.5      # limbus centre vs FaceMesh's, in iris radii: beyond it the fit failed
RADIUS_RANGE = (0.6, 1.6)   # limbus radius vs FaceMesh's
RADIUS_AGREEMENT = 0.04     # the two eyes' limbus radii (a turned head puts one eye nearer)


@dataclass(frozen=True)
class EyeImage:
    """One eye's pixel read-out in one frame."""
    reflex: Reflex | None = None
    upper_lid: float | None = None      # lid margin above the limbus centre, limbus radii


def checked_limbus(gray: np.ndarray, iris_centre: np.ndarray, iris_radius: float,
                   known_radius: float | None = None, fixed: bool = False) -> Limbus | None:
    """The limbus circle (centre, radius in pixels) near FaceMesh's iris
    (centre and radius, pixels), or None when the iris is too small, its limbus
    does not show, or the fit strays from FaceMesh's iris. known_radius: the
    other eye's limbus radius, for an eye whose limbus shows on one side only
    (with fixed: the circle takes it wherever its limbus shows)."""
    if iris_radius < MIN_IRIS_RADIUS_PX:
        return None
    fit = limbus_circle(gray, iris_centre, iris_radius, known_radius, fixed)
    if fit is None:
        return None
    return fit if near_facemesh_iris(fit.centre, fit.radius, iris_centre, iris_radius) else None


def near_facemesh_iris(centre: np.ndarray, radius: float, iris_centre: np.ndarray,
                       iris_radius: float) -> bool:
    """Whether a limbus circle is near FaceMesh's iris (all in pixels): a fit
    beyond this strayed onto another edge."""
    return bool(RADIUS_RANGE[0] * iris_radius <= radius <= RADIUS_RANGE[1] * iris_radius
                and np.linalg.norm(centre - iris_centre) <= MAX_CENTRE_SHIFT * iris_radius)


def iris_patch(rgb: np.ndarray, iris: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
    """The grey levels around one iris (FaceMesh's five iris points, centre
    first, in pixels): the float32 patch, the iris centre in it, the iris
    radius, and the patch's top-left corner in the frame. None where the patch
    is empty (the eye outside the frame)."""
    centre = iris[0]
    radius = float(np.linalg.norm(iris[1:] - centre, axis=1).mean())
    half = int(2 * radius) + 8
    origin = np.array([max(int(centre[0]) - half, 0), max(int(centre[1]) - half, 0)])
    patch = rgb[origin[1]:origin[1] + 2 * half, origin[0]:origin[0] + 2 * half]
    if not patch.size:
        return None
    gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return gray, centre - origin, radius, origin


def _sorted_by_x(points: np.ndarray) -> np.ndarray:
    return points[np.argsort(points[:, 0])]


def read_eye_images(rgb: np.ndarray, landmarks: Landmarks) -> dict[str, EyeImage]:
    """Both eyes ("right"/"left" = the patient's own sides). An eye whose
    limbus shows on one side only, or whose lid hides its top, borrows the
    other eye's iris radius."""
    pts = landmarks.points[:, :2].astype(np.float64)
    patches = {}
    for side, contour in EYE_CONTOURS.items():
        lids = tuple(_sorted_by_x(pts[[contour.inner, *margin, contour.outer]])
                     for margin in (contour.upper, contour.lower))
        patch = iris_patch(rgb, pts[list(contour.iris)])
        if patch is not None:
            gray, centre, radius, origin = patch
            patches[side] = (gray, centre, radius, tuple(lid - origin for lid in lids))

    def read(side: str, known_radius: float | None = None, fixed: bool = False
             ) -> tuple[EyeImage, Limbus | None]:
        if side not in patches:
            return EyeImage(), None
        gray, centre, radius, lids = patches[side]
        limbus = checked_limbus(gray, centre, radius, known_radius, fixed)
        if limbus is None:
            return EyeImage(), None
        circle = (limbus.centre, limbus.radius)
        return (EyeImage(reflex=find_reflex(gray, circle, lids),
                         upper_lid=upper_lid_margin(gray, circle, lids[0])), limbus)

    out = {side: read(side) for side in EYE_CONTOURS}
    # An eye without a reflex (its limbus may show on one side only) reads
    # again with the other eye's radius. So does one whose radius disagrees
    # with the other eye's where its edges fit their circle worse (a low lid
    # hides the top of its limbus, and the rays there find the lid): the
    # other radius is kept where its circle fits this eye's edges better.
    # (The two irises need not be drawn alike: a synthetic face's read 10.0
    # and 10.6 px, each circle sharp.)
    for side, other in (("right", "left"), ("left", "right")):
        (image, limbus), (other_image, reference) = out[side], out[other]
        if image.reflex is None and other_image.reflex is not None:
            retry = read(side, known_radius=reference.radius)
            if retry[0].reflex is not None:
                out[side] = retry
        elif (limbus is not None and reference is not None and reference.rms < limbus.rms
              and abs(limbus.radius / reference.radius - 1.0) > RADIUS_AGREEMENT):
            retry = read(side, known_radius=reference.radius, fixed=True)
            if retry[1] is not None and retry[1].rms < limbus.rms:
                out[side] = retry
    return {side: image for side, (image, _) in out.items()}
