"""Anchor each eye's upper-lid read-out to the lid margin in its pixels.

The landmark read-out (eyes.py, calibrated) follows the lids' movements
(blinks, lid lag, widening) but places each lid with a per-eye error of 1-2 mm
(MRD1), and the two eyes of one face read differently although they are
drawn alike. The margin in the pixels (tracking/lid_margin.py) places it
within about 0.4 mm on synthetic patients, but only where the limbus circle
fits, in every few frames, and with its own misses.

So, per eye, the difference between the pixel margin and the landmark
read-out is collected; once its running median over 10 s is steady (a face's
anatomy does not change), it is added to the landmark read-out. Movements keep
the landmarks' speed; the lid's level gets the pixels' accuracy. It fades out
as the eye closes (a blink must still close the drawn lids), and it is
collected only near primary gaze, where MRD1 is defined and the margin
columns see the lid rather than its flanks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import numpy as np

from ..params import EyeParams

HISTORY = 100           # readings (10 s at every third frame)
MIN_READINGS = 12
MAX_SPREAD = 0.2        # iris radii (~1.2 mm): median absolute deviation of a steady window
MAX_OFFSET = 1.0        # iris radii: a larger disagreement is a misread margin
MAX_BLINK = 0.2         # a closing lid is no margin to measure
MAX_EYE_PITCH_DEG = 10.0
MAX_HEAD_DEG = 20.0     # yaw and pitch: the columns see the lid from the front


class LidAnchor:
    """Per-session state; `reset()` for a new session."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._samples = {side: deque(maxlen=HISTORY) for side in ("right", "left")}
        self._held: dict[str, float | None] = {"right": None, "left": None}

    @property
    def offset(self) -> dict[str, float | None]:
        """Per eye, iris radii added to the upper lid; None until steady, then
        the last steady value (dropping it would make the lid jump)."""
        return dict(self._held)

    def _add(self, side: str, value: float) -> None:
        samples = self._samples[side]
        samples.append(value)
        if len(samples) >= MIN_READINGS:
            v = np.asarray(samples)
            m = float(np.median(v))
            if float(np.median(np.abs(v - m))) <= MAX_SPREAD:
                self._held[side] = m

    def apply(self, eyes: dict[str, EyeParams], margins: dict[str, float | None] | None,
              head_yaw_deg: float, head_pitch_deg: float) -> dict[str, EyeParams]:
        """The eyes with their upper lids anchored; margins: each eye's pixel
        margin in this frame (EyeImage.upper_lid), or None when not read."""
        frontal = max(abs(head_yaw_deg), abs(head_pitch_deg)) <= MAX_HEAD_DEG
        out = {}
        for side, eye in eyes.items():
            margin = (margins or {}).get(side)
            if (margin is not None and frontal and not eye.covered and eye.blink <= MAX_BLINK
                    and abs(eye.pitch_deg) <= MAX_EYE_PITCH_DEG
                    and abs(margin - eye.upper_lid) <= MAX_OFFSET):
                self._add(side, margin - eye.upper_lid)
            offset = self._held[side]
            out[side] = eye if offset is None else replace(
                eye, upper_lid=eye.upper_lid + (1.0 - eye.blink) * offset, lid_anchored=True)
        return out
