"""FrameMasker: camera frame -> (MaskParams, masked frame), fail-closed.

The masker is the only place where the three rooms meet: the tracker (and the
iris's quick movements from the limbus, tracking/iris_motion.py, the cover
check, tracking/cover.py, and the corneal reflexes, tracking/reflex.py)
see the camera frame, the fitter sees landmarks
and which eyes are covered, and the renderer sees MaskParams only.
When no face is found the renderer draws its placeholder, never the input.

Each session (construction or reset()) draws a fresh random avatar face unless
`avatar="shared"` is asked for (see render/avatars.py for why).

A FrameMasker owns an EGL context: create and use it in one thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .face_model.assets import FaceModel, load_face_model
from .face_model.fitter import FaceFitter
from .params import MaskParams
from .avatar_pool import draw_session_avatar, load_avatar_pool
from .render.avatars import SHARED_AVATAR, avatar_renderer
from .tracking import MediaPipeTracker
from .tracking.cover import EyeCoverDetector
from .tracking.eye_image import read_eye_images
from .tracking.head_motion import NoseMotion
from .tracking.iris_motion import IrisMotion

OUTPUT_FORMATS = ("rgb24", "yuv420p")
# The eyes' pixels (corneal reflexes, lid margins) feed 10 s running medians
# (face_model/reflex_anchor.py, lid_anchor.py): reading them in every third
# frame is enough, and a read costs ~3 ms (mostly the limbus fits).
EYE_IMAGE_EVERY = 3
AVATAR_MODES = ("per-session", "shared")


@dataclass
class MaskResult:
    params: MaskParams
    frame: np.ndarray               # rgb24: (H, W, 3); yuv420p: (H*3//2, W) I420 planes
    timings_ms: dict[str, float] = field(default_factory=dict)


class FrameMasker:
    def __init__(self, width: int = 640, height: int = 480, *, static_images: bool = False,
                 avatar: str | int = "per-session", model: FaceModel | None = None):
        """avatar: "per-session" (a face from the checked pool, new at every reset),
        "shared" (the mean face) or a fixed avatar seed (reproducible runs)."""
        if not isinstance(avatar, int) and avatar not in AVATAR_MODES:
            raise ValueError(f"avatar must be one of {AVATAR_MODES} or a seed, not {avatar!r}")
        # The per-frame linear algebra is small (4x4 and 2x2 inverses, 3x3
        # SVDs): OpenBLAS's threads only wait on each other there, and on a busy
        # 2-core machine np.linalg.inv of a 4x4 took 0.5-2 ms instead of 5 us
        # (two maskers taking turns, two CPU hogs running: total p50 -1.7 ms,
        # p95 -4.5 ms; the same on a quieter machine). A consultation runs in
        # one thread; the parallelism is across consultations. Process-wide.
        threadpool_limits(limits=1, user_api="blas")
        self.model = model or load_face_model()
        self.width, self.height = width, height
        self.avatar_mode = avatar
        self._avatar_pool = load_avatar_pool(self.model) if avatar == "per-session" else []
        self.tracker = MediaPipeTracker(static_image_mode=static_images)
        self.iris_motion = IrisMotion()
        self.covers = EyeCoverDetector()
        self.nose = NoseMotion()
        self._frames = 0
        self.fitter = FaceFitter(self.model)
        self.renderer = None
        self._new_avatar()

    def _new_avatar(self, seed: int | None = None) -> None:
        if seed is not None:
            self.avatar = seed
        elif self._avatar_pool:
            self.avatar = draw_session_avatar(self._avatar_pool)
        else:
            self.avatar = self.avatar_mode if isinstance(self.avatar_mode, int) else SHARED_AVATAR
        if self.renderer is not None:
            self.renderer.close()
        self.renderer = avatar_renderer(self.model, self.avatar, self.width, self.height)

    def process(self, rgb: np.ndarray, timestamp: float, output: str = "rgb24") -> MaskResult:
        if output not in OUTPUT_FORMATS:
            raise ValueError(f"output must be one of {OUTPUT_FORMATS}, not {output!r}")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {rgb.dtype} {rgb.shape}")
        t0 = time.perf_counter()
        landmarks = self._track(rgb)
        t1 = time.perf_counter()
        params = self._fit(rgb, landmarks, timestamp)
        params.avatar = self.avatar
        t2 = time.perf_counter()
        # Render from the JSON-exact parameters: what is saved re-renders bit for bit.
        params = params.rounded()
        if output == "yuv420p":
            frame = self.renderer.render_yuv420(params)
        else:
            frame = self.renderer.render(params)
        t3 = time.perf_counter()
        timings = {"track": (t1 - t0) * 1e3, "fit": (t2 - t1) * 1e3,
                   "render": (t3 - t2) * 1e3, "total": (t3 - t0) * 1e3}
        return MaskResult(params, frame, timings)

    def measure(self, rgb: np.ndarray, timestamp: float) -> MaskParams:
        """The frame's MaskParams alone, tracked and fitted as `process` does
        (a benchmark re-tracking rendered avatars measures them like a patient)."""
        return self._fit(rgb, self._track(rgb), timestamp)

    def _track(self, rgb: np.ndarray):
        landmarks = self.tracker.track(rgb)
        if landmarks is None or self.tracker.static_image_mode:
            return landmarks     # unrelated single images have no movement to refine
        return self.iris_motion.refine(rgb, landmarks)

    def _fit(self, rgb: np.ndarray, landmarks, timestamp: float) -> MaskParams:
        if landmarks is None:
            params = MaskParams.no_face(timestamp)
        else:
            images = (read_eye_images(rgb, landmarks) if self._frames % EYE_IMAGE_EVERY == 0
                      else None)
            # the nose's flow is used only while the head holds still (eyes.py)
            nose = (None if self.tracker.static_image_mode else
                    self.nose.update(rgb, landmarks, follow=self.fitter.eyes.head_still))
            params = self.fitter.fit(landmarks, timestamp, self.covers.update(rgb, landmarks),
                                     images, nose)
        self._frames += 1
        return params

    def reset(self, avatar: int | None = None) -> None:
        """Start a new session: no tracking or identity state is carried over,
        and (per-session mode) a new avatar face is drawn, or `avatar` is used
        (a benchmark drawing from the pool with its own seed, to be repeatable)."""
        self.tracker.reset()
        self.iris_motion.reset()
        self.covers.reset()
        self.nose.reset()
        self._frames = 0
        self.fitter.reset()
        if avatar is not None or self.avatar_mode == "per-session":
            self._new_avatar(avatar)

    def close(self) -> None:
        self.tracker.close()
        self.renderer.close()

    def __enter__(self) -> "FrameMasker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
