"""Per-consultation media counters, sent to the doctor page and logged."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

WINDOW_FRAMES = 300               # percentiles over the last ~10 s at 30 fps
FPS_WINDOW_S = 2.0


def _percentile(values, q: float) -> float | None:
    return round(float(np.percentile(np.fromiter(values, float), q)), 1) if values else None


@dataclass
class MediaStats:
    frames_in: int = 0
    frames_out: int = 0
    dropped_stale: int = 0        # input frames replaced before the masker took them
    no_face: int = 0
    errors: int = 0
    processing_ms: deque = field(default_factory=lambda: deque(maxlen=WINDOW_FRAMES))
    relay_delay_ms: deque = field(default_factory=lambda: deque(maxlen=WINDOW_FRAMES))
    stage_ms: dict = field(default_factory=dict)
    _out_times: deque = field(default_factory=lambda: deque(maxlen=240))

    def frame_in(self) -> None:
        self.frames_in += 1

    def frame_out(self, processing_ms: float, relay_delay_ms: float, face_present: bool,
                  timings_ms: dict | None = None, now: float | None = None) -> None:
        self.frames_out += 1
        self.processing_ms.append(processing_ms)
        self.relay_delay_ms.append(relay_delay_ms)
        if not face_present:
            self.no_face += 1
        if timings_ms:
            for k, v in timings_ms.items():
                self.stage_ms.setdefault(k, deque(maxlen=WINDOW_FRAMES)).append(float(v))
        self._out_times.append(time.monotonic() if now is None else now)

    def fps(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        recent = [t for t in self._out_times if now - t <= FPS_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        span = max(now - recent[0], 1e-6)
        return round(len(recent) / max(span, FPS_WINDOW_S / 2), 1)

    def snapshot(self, dropped_at_send: int = 0) -> dict:
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "fps": self.fps(),
            "processing_ms_p50": _percentile(self.processing_ms, 50),
            "processing_ms_p95": _percentile(self.processing_ms, 95),
            "relay_delay_ms_p50": _percentile(self.relay_delay_ms, 50),
            "relay_delay_ms_p95": _percentile(self.relay_delay_ms, 95),
            "stage_ms_p50": {k: _percentile(v, 50) for k, v in self.stage_ms.items()},
            "dropped_stale": self.dropped_stale,
            "dropped_at_send": dropped_at_send,
            "dropped": self.dropped_stale + dropped_at_send,
            "no_face": self.no_face,
            "errors": self.errors,
        }
