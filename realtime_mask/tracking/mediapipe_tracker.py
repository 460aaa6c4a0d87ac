"""MediaPipe FaceMesh (CPU) as a Tracker: 468 face points + 10 iris points."""

from __future__ import annotations

import numpy as np

from .landmarks import N_LANDMARKS, Landmarks


class MediaPipeTracker:
    """Tracking mode (static_image_mode=False) for video: the face detector only
    runs when the mesh loses the face. Static mode for unrelated single images."""

    def __init__(self, static_image_mode: bool = False, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5):
        self.static_image_mode = static_image_mode
        self._conf = (min_detection_confidence, min_tracking_confidence)
        self._mesh = None
        self.reset()

    def _open(self):
        import mediapipe as mp

        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=self.static_image_mode, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=self._conf[0], min_tracking_confidence=self._conf[1])

    def track(self, rgb: np.ndarray) -> Landmarks | None:
        if self._mesh is None:
            raise RuntimeError("MediaPipeTracker is closed")
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 \
                or rgb.dtype != np.uint8:
            got = getattr(rgb, "shape", type(rgb).__name__)
            raise ValueError(f"track() needs an HxWx3 uint8 RGB frame, got {got}")
        h, w = rgb.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(rgb))
        faces = result.multi_face_landmarks
        if not faces:
            return None
        lm = faces[0].landmark
        if len(lm) != N_LANDMARKS:
            return None
        pts = np.array([(p.x, p.y, p.z) for p in lm], np.float32)
        # MediaPipe normalises x by width, y by height and z roughly like x.
        pts *= np.array([w, h, w], np.float32)
        # The legacy FaceMesh solution reports no per-face score: a face below
        # min_tracking_confidence is simply not returned, so a returned one is 1.0.
        return Landmarks(pts, w, h, 1.0)

    def reset(self) -> None:
        """Forget the tracked face (new session): the next frame runs detection."""
        self.close()
        self._mesh = self._open()

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def __enter__(self) -> "MediaPipeTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
