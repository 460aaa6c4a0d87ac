"""FrameMasker: camera frame -> (MaskParams, masked frame), fail-closed.

The masker is the only place where the three rooms meet: the tracker sees the
camera frame, the fitter sees landmarks, and the renderer sees MaskParams only.
When no face is found the renderer draws its placeholder, never the input.

A FrameMasker owns an EGL context: create and use it in one thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .face_model.assets import FaceModel, load_face_model
from .face_model.fitter import FaceFitter
from .params import MaskParams
from .render import AvatarRenderer
from .tracking import MediaPipeTracker

OUTPUT_FORMATS = ("rgb24", "yuv420p")


@dataclass
class MaskResult:
    params: MaskParams
    frame: np.ndarray               # rgb24: (H, W, 3); yuv420p: (H*3//2, W) I420 planes
    timings_ms: dict[str, float] = field(default_factory=dict)


class FrameMasker:
    def __init__(self, width: int = 640, height: int = 480, *, static_images: bool = False,
                 model: FaceModel | None = None):
        self.model = model or load_face_model()
        self.width, self.height = width, height
        self.tracker = MediaPipeTracker(static_image_mode=static_images)
        self.fitter = FaceFitter(self.model)
        self.renderer = AvatarRenderer(self.model, width, height)

    def process(self, rgb: np.ndarray, timestamp: float, output: str = "rgb24") -> MaskResult:
        if output not in OUTPUT_FORMATS:
            raise ValueError(f"output must be one of {OUTPUT_FORMATS}, not {output!r}")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {rgb.dtype} {rgb.shape}")
        t0 = time.perf_counter()
        landmarks = self.tracker.track(rgb)
        t1 = time.perf_counter()
        if landmarks is None:
            params = MaskParams.no_face(timestamp)
        else:
            params = self.fitter.fit(landmarks, timestamp)
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

    def reset(self) -> None:
        """Start a new session: no tracking or identity state is carried over."""
        self.tracker.reset()
        self.fitter.reset()

    def close(self) -> None:
        self.tracker.close()
        self.renderer.close()

    def __enter__(self) -> "FrameMasker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
