"""The fail-closed "no face" frame: plain background, a featureless head and
shoulders silhouette and a clear caption. Nothing in it looks like a face."""

from __future__ import annotations

import cv2
import numpy as np

from .appearance import Appearance

CAPTION = "No face detected"


def placeholder_rgb(width: int, height: int, appearance: Appearance) -> np.ndarray:
    bg = np.array(appearance.background_rgb) * 255.0
    img = np.empty((height, width, 3), np.uint8)
    img[:] = np.round(bg).astype(np.uint8)
    shade = tuple(int(round(c)) for c in np.clip(bg * 0.8, 0, 255))
    s = height / 480.0
    cx, cy = width // 2, int(height * 0.42)
    # shoulders, then a plain oval head: a silhouette with no features
    cv2.ellipse(img, (cx, int(height * 1.02)), (int(190 * s), int(150 * s)), 0, 180, 360,
                shade, -1, cv2.LINE_AA)
    cv2.rectangle(img, (cx - int(40 * s), int(cy + 90 * s)), (cx + int(40 * s), int(height * 0.9)),
                  shade, -1)
    cv2.ellipse(img, (cx, cy), (int(80 * s), int(105 * s)), 0, 0, 360, shade, -1, cv2.LINE_AA)
    scale = 0.9 * s
    thick = max(1, int(round(2 * s)))
    (tw, th), _ = cv2.getTextSize(CAPTION, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    org = ((width - tw) // 2, int(height * 0.08) + th)
    cv2.putText(img, CAPTION, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (245, 245, 245), thick,
                cv2.LINE_AA)
    return img
