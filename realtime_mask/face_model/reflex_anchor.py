"""Anchor the deviation between the two eyes to their corneal reflexes.

The landmark read-out (eyes.py) follows each eye's movements closely but
places each eyeball from where the landmarks say it should sit, and a face's
real eyeball sits 1-2 mm off that, differently in each eye: a constant error in
the deviation between the eyes of several degrees, face by face. The corneal
reflexes (tracking/reflex.py) show each eye's line of sight against the light
directly, whatever the anatomy, but they are noisier frame by frame and exist
only where a light near the camera shows on both open corneas.

So the two are joined: per frame where both reflexes show, the difference
between the reflexes' deviation and the landmarks' deviation is collected;
its running median (a constant per face, so a long window) is added to the
landmark gaze, half to each eye with opposite signs. Movements (saccades,
nystagmus, gaze positions) keep the landmark read-out's speed and low noise;
the deviation between the eyes gets the reflexes' accuracy. Both eyes move by
the same amount in opposite directions, so the mean gaze is unchanged.

Only what one light near the camera can give is collected, and the anchor
holds only while the disagreement is steady, as a face's anatomy is: another
light in one eye, or a lid edge taken for a reflex, must not move the
deviation. The vertical part is collected only while all four lids stand clear
of the limbus arcs that place the iris circle: a low lid (ptosis) cuts into
them and moves the circle.

The reflexes show the deviation while the patient looks at the light, i.e.
at the screen: an orthophoric patient converging on it reads 0. Unanchored,
the landmark read-out measures against parallel eyes (its calibration's gaze 0).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import numpy as np

from ..params import EyeParams
from ..tracking.reflex import Reflex

# Reflexes are read in every third frame (pipeline.EYE_IMAGE_EVERY), so at 30 fps:
# The offset is a face's anatomy, but the landmark read-out it corrects settles
# over a session's first 2-3 s (from 15 degrees off on a rendered face) and
# then moves by about 2 degrees as the head turns, while the reflexes hold
# still: a 10 s window kept the start's transient for most of an 8 s clip
# (benchmarks/fidelity.py, avatars with reflexes on eyes turned in to the
# camera: re-tracked median deviation error 3.6 -> 2.9 degrees with 3 s; the
# patients' MaskParams 1.40 -> 1.41). On a re-tracked avatar the read-out moves
# again when the masker's own anchors engage: FaceMesh drags the eye corners
# with the drawn iris by ~80 %, and the corners' low-pass (eyes.py) takes a
# sustained step of the drawn deviation out again over ~1 s. A 3 s window held
# the offset from before that step for another 2-3 s (normal_a's re-tracked
# "nystagmus"); with 2 s (fidelity --faces 3, 42 patients): re-tracked
# deviation 1.84 -> 1.65 degrees, nystagmus found 4 -> 6 of 9, control signs
# 1 -> 0; MaskParams 1.40 -> 1.38 degrees, signs unchanged. 1.2 s put a
# nystagmus into a control (MaskParams) and another (re-tracked).
HISTORY = 20            # pairs (2 s)
MIN_PAIRS = 10          # pairs with both reflexes (1 s) before the anchor applies
# What one light near the camera gives, and what is plausible (a pair outside
# is another light in one eye, or a lid edge taken for a reflex):
MAX_REFLEX_DEG = 30.0   # each eye's line of sight within this of the light
MAX_PITCH_GAP_DEG = 8.0 # the two reflexes at about the same height
MAX_OFFSET_DEG = 20.0   # reflexes and landmarks disagree by less (faces: sd 5.5 deg, and a
                        # patient converging on the screen reads ~4 deg more eso from landmarks)
# ... and the anchor holds only while the disagreement is steady, as a face's
# anatomy is (median absolute deviation over the window).
MAX_SPREAD_DEG = 2.5
MAX_BLINK = 0.3         # a closing lid hides part of the cornea
# iris radii: all lids clear of the limbus arcs (tracking/limbus.py, +-40 deg: 0.64)
MIN_VERTICAL_LID = 0.6


def _steady_median(values: deque[float]) -> float | None:
    if len(values) < MIN_PAIRS:
        return None
    v = np.asarray(values)
    m = float(np.median(v))
    return m if float(np.median(np.abs(v - m))) <= MAX_SPREAD_DEG else None


class ReflexAnchor:
    """Per-session state; `reset()` for a new session."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._samples: tuple[deque[float], deque[float]] = (deque(maxlen=HISTORY),
                                                            deque(maxlen=HISTORY))
        self._held: list[float | None] = [None, None]

    @property
    def offset(self) -> tuple[float | None, float | None]:
        """(horizontal, vertical) degrees added to right minus left gaze; None
        for an axis until its disagreement has been steady. Once it has, the
        last steady value is held while the window is not: dropping the anchor
        for a while would make each eye's gaze jump by half the offset."""
        return self._held[0], self._held[1]

    def _add(self, axis: int, value: float) -> None:
        self._samples[axis].append(value)
        steady = _steady_median(self._samples[axis])
        if steady is not None:
            self._held[axis] = steady

    def apply(self, eyes: dict[str, EyeParams], reflexes: dict[str, Reflex | None] | None
              ) -> tuple[dict[str, EyeParams], bool]:
        """The eyes with the anchored deviation, and whether the horizontal
        deviation is anchored."""
        right, left = eyes["right"], eyes["left"]
        r, l = (reflexes or {}).get("right"), (reflexes or {}).get("left")
        if (r is not None and l is not None and not right.covered and not left.covered
                and max(right.blink, left.blink) <= MAX_BLINK
                and max(abs(r.yaw_deg), abs(l.yaw_deg)) <= MAX_REFLEX_DEG
                and abs(r.pitch_deg - l.pitch_deg) <= MAX_PITCH_GAP_DEG):
            h = (r.yaw_deg - l.yaw_deg) - (right.yaw_deg - left.yaw_deg)
            v = (r.pitch_deg - l.pitch_deg) - (right.pitch_deg - left.pitch_deg)
            if abs(h) <= MAX_OFFSET_DEG:
                self._add(0, h)
            # A low lid cuts into the limbus arcs and shifts the circle up or down.
            if (abs(v) <= MAX_OFFSET_DEG and min(right.upper_lid, left.upper_lid, right.lower_lid,
                                                 left.lower_lid) >= MIN_VERTICAL_LID):
                self._add(1, v)
        h_offset, v_offset = self.offset
        if h_offset is None and v_offset is None:
            return eyes, False
        h, v = (h_offset or 0.0) / 2, (v_offset or 0.0) / 2
        anchored = {"right": replace(right, yaw_deg=right.yaw_deg + h, pitch_deg=right.pitch_deg + v),
                    "left": replace(left, yaw_deg=left.yaw_deg - h, pitch_deg=left.pitch_deg - v)}
        return anchored, h_offset is not None
