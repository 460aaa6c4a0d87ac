"""The iris's quick movements from its limbus edges, per frame.

FaceMesh's iris model answers movements of a pixel or less in jumps. Rendered
eyes turned slowly through 4 degrees (about 1.8 px) read back non-monotonic,
on one face 0, 0.8, 1.8, then back to 0.7 px: over 7 faces, slopes of
0.10-0.65 px per degree with 0.12-0.39 px of scatter, against 0.42-0.47 px per
degree and 0.04-0.07 px for a circle fitted to the limbus edges
(tracking/limbus.py). A 3-degree, 3 Hz swing read at 0.38-2.0 times the
limbus's swing, depending on the face and where the eye sat
(benchmarks/iris_response.py). That is what made nystagmus on some faces, and
on the re-tracked avatar, read small or not at all.

So each frame, each eye's limbus circle is refitted from where the last one
sat, and where its edges lie close to a circle (RMS distance at most SHARP_RMS
iris radii: nearly every rendered eye; 0-53 % of the eye reads of the real
clips in ../shared/data, most 0-20 %) the iris landmarks move by the limbus
centre's offset from FaceMesh's, less that offset's mean over the last HISTORY
such frames. The quick part of a movement then comes from the limbus, and the
slow part (held gaze, each eye's bias that the eye calibration learnt on
FaceMesh alone) stays FaceMesh's, so calibration and anchors are unchanged.

Both axes. The vertical part needs the head's quick movements from the
nose's pixels too (tracking/head_motion.py, face_model/eyes.py): FaceMesh moves
its head frame with a vertical eye movement, and in a prototype that took the
limbus's vertical part against that frame, vertical nystagmus read worse
(amplitude errors 0.31-0.45 against 0.16) and two normal controls got a sign.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .eye_image import MIN_IRIS_RADIUS_PX, iris_patch, near_facemesh_iris
from .landmarks import EYE_CONTOURS, Landmarks
from .limbus import refit_limbus

HISTORY = 30             # sharp frames (about a second of video) in the running mean
SHARP_RMS = 0.012        # iris radii: rendered eyes read 0.004-0.011, real clips mostly more
# An eye whose limbus has not been sharp for this many frames in a row is
# tried only every RETRY_EVERY frames (a refit costs about 0.6 ms an eye, and
# most real camera eyes are never sharp enough)
MISSES_BEFORE_BACKOFF = 8
RETRY_EVERY = 6


class IrisMotion:
    """Per session: FaceMesh landmarks in, the same with each iris's quick
    movements taken from its limbus edges where they are sharp."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        # per eye: the limbus centre's offset from FaceMesh's (px) and its radius
        self._history = {side: deque(maxlen=HISTORY) for side in EYE_CONTOURS}
        self._misses = {side: 0 for side in EYE_CONTOURS}
        self.refits = 0          # limbus refits tried this session (benchmarks/iris_response.py)

    def refine(self, rgb: np.ndarray, landmarks: Landmarks) -> Landmarks:
        points = landmarks.points
        moved, rise = None, {}
        for side, contour in EYE_CONTOURS.items():
            misses = self._misses[side]
            if misses >= MISSES_BEFORE_BACKOFF and misses % RETRY_EVERY:
                self._misses[side] += 1
                continue
            shift = self._quick_shift(rgb, points, side, list(contour.iris))
            self._misses[side] = 0 if shift is not None else misses + 1
            if shift is None:
                continue
            rise[side] = float(shift[1])
            if shift[0]:
                if moved is None:
                    moved = points.copy()
                moved[list(contour.iris), 0] += shift[0]
        if moved is None and not rise:
            return landmarks
        return Landmarks(points if moved is None else moved, landmarks.width, landmarks.height,
                         landmarks.confidence, rise)

    def _quick_shift(self, rgb: np.ndarray, points: np.ndarray, side: str,
                     iris_ids: list[int]) -> np.ndarray | None:
        """The iris's quick (x, y) shift (px), or None where its limbus is
        not sharp (or not seen) in this frame."""
        patch = iris_patch(rgb, points[iris_ids, :2].astype(np.float64))
        if patch is None or patch[2] < MIN_IRIS_RADIUS_PX:
            return None
        gray, centre, radius, _ = patch
        history = self._history[side]
        start, start_radius = centre, radius
        if history:
            past = np.array(history)
            start = centre + past[:, :2].mean(axis=0)
            start_radius = float(np.median(past[:, 2]))
        self.refits += 1
        fit = refit_limbus(gray, start, start_radius)
        if fit is None:
            return None
        limbus_centre, limbus_radius, rms = fit
        if not (near_facemesh_iris(limbus_centre, limbus_radius, centre, radius)
                and rms <= SHARP_RMS * limbus_radius):
            return None
        offset = limbus_centre - centre
        history.append((offset[0], offset[1], limbus_radius))
        return offset - np.array(history)[:, :2].mean(axis=0)
