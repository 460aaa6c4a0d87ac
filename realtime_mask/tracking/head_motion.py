"""The head's quick movements in the image from the pixels of the nose.

FaceMesh moves its whole mesh with a quick vertical eye movement: on synthetic
patients with a 3 Hz, 3 degree vertical nystagmus and a still head, the
fitted head frame (and the eyeball centres hung on it) swung 0.26-0.34 px
with the irises' 0.6 px, and the whole mesh a median 0.14-0.24 px. The
nose's pixels do not move with the eyes: followed frame to frame by optical
flow (OpenCV's Lucas-Kanade on a grid over the nose, started from FaceMesh's
own nose movement), the nose of the mean-face avatar held within 0.1 px
while its eyes swung, and a frame moved by a known 0.3-0.8 px read within
0.08 px (tests/test_head_motion.py). The eye model takes each eyeball
centre's quick vertical movement from here and the slow part from the fitted
head frame (face_model/eyes.py, "Quick head movements").
"""

from __future__ import annotations

import cv2
import numpy as np

from .landmarks import Landmarks

NOSE = 4                  # FaceMesh's point on the nose's ridge above the tip
HALF = 0.16               # crop half-size, in interocular distances
GRID = 4                  # flow points per side, over the crop's inner half
# a flow further than this from FaceMesh's own nose movement (interocular
# distances) is a failed one, and FaceMesh's movement is taken instead
MAX_DISAGREEMENT = 0.03
_LK = dict(winSize=(13, 13), maxLevel=0, flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
           criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.01))


class NoseMotion:
    """Per session: each frame's nose position (image pixels, y down) as the
    sum of frame-to-frame optical flows of the nose's pixels (its origin is
    arbitrary; the eye model uses only its quick part). The flow starts from
    FaceMesh's own nose movement, and where it strays from it or is not
    found, FaceMesh's movement is added instead. None on a session's first
    frame and where the nose's crop leaves the frame."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        # the last frame's crop (None when not followed), its origin, FaceMesh's nose
        self._last: tuple[np.ndarray | None, np.ndarray | None, np.ndarray] | None = None
        self.position = np.zeros(2)
        self.followed = 0          # frames whose flow was taken (tests, benchmarks)

    def update(self, rgb: np.ndarray, landmarks: Landmarks, follow: bool = True
               ) -> np.ndarray | None:
        """follow: whether to run the flow in this frame. Without it the
        position moves as FaceMesh's nose point does (the eye model uses the
        nose only while the head holds still, and a moving head's flow would
        be 0.1-0.2 ms of wasted work)."""
        pts = landmarks.points
        eyes = float(np.linalg.norm(pts[468, :2] - pts[473, :2]))
        nose = pts[NOSE, :2].astype(np.float64)
        found = None
        if self._last is not None:
            before, origin, last_nose = self._last
            guess = nose - last_nose
            # the last crop's window in this frame (None if the frame shrank)
            now = None if before is None else _crop(rgb, origin, before.shape)
            flow = None if now is None else _median_flow(before, now, guess)
            if flow is not None and np.linalg.norm(flow - guess) <= MAX_DISAGREEMENT * eyes:
                self.followed += 1
            else:
                flow = guess
            self.position = self.position + flow
            found = self.position.copy()
        if not follow:
            self._last = (None, None, nose)
            return found
        half = int(HALF * eyes) + 4
        origin = np.round(nose).astype(int) - half
        crop = _crop(rgb, origin, (2 * half, 2 * half))
        self._last = None if crop is None else (crop, origin, nose)
        return found


def _crop(rgb: np.ndarray, origin: np.ndarray, shape) -> np.ndarray | None:
    x, y = int(origin[0]), int(origin[1])
    h, w = shape[:2]
    if x < 0 or y < 0 or y + h > rgb.shape[0] or x + w > rgb.shape[1]:
        return None
    return cv2.cvtColor(rgb[y:y + h, x:x + w], cv2.COLOR_RGB2GRAY)


def _median_flow(before: np.ndarray, now: np.ndarray, guess: np.ndarray) -> np.ndarray | None:
    h, w = before.shape
    xs = np.linspace(w * 0.25, w * 0.75, GRID)
    ys = np.linspace(h * 0.25, h * 0.75, GRID)
    start = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 1, 2).astype(np.float32)
    end, ok, _ = cv2.calcOpticalFlowPyrLK(before, now, start, start + guess.astype(np.float32),
                                          **_LK)
    ok = ok[:, 0] == 1
    if ok.sum() < GRID * GRID // 2:
        return None
    return np.median((end - start)[ok, 0], axis=0).astype(np.float64)
