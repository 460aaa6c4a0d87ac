"""The masking worker: one thread per consultation, off the event loop.

The thread creates its own FrameMasker (it owns an EGL context, which belongs to
the thread that made it) and reuses it for every patient session of the
consultation, calling reset() between sessions. Input is a newest-frame slot: when
the masker is busy, an older waiting frame is replaced and counted as dropped, so
delay stays bounded when the CPU is short. The raw frame lives only in this slot
and in the masker call; nothing of it is kept, forwarded or written.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import av
import numpy as np

from ..media import rgb_from_frame
from . import barcode

log = logging.getLogger(__name__)

MODES = ("mask", "passthrough")


@dataclass
class MaskedFrame:
    yuv: np.ndarray | None        # (H*3/2, W) uint8 I420 planes stacked; None: frame failed
    params: Any                   # MaskParams, or None in passthrough mode
    timings_ms: dict
    arrival: float                # time.monotonic() when the input frame reached the relay
    started: float                # ... when the worker took it
    done: float                   # time.monotonic() when the output was ready


def default_masker_factory(width: int, height: int):
    from ..pipeline import FrameMasker  # imported in the worker thread that owns it
    return FrameMasker(width=width, height=height)


class MaskingWorker:
    """`submit` from the event loop; `on_result` is called from the worker thread."""

    def __init__(self, on_result: Callable[[MaskedFrame], None], *, width: int = 640,
                 height: int = 480, mode: str = "mask", bench_stamp: bool = False,
                 masker_factory: Callable[[int, int], Any] = default_masker_factory,
                 name: str = "masker") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self._on_result = on_result
        self._width, self._height = width, height
        self._mode = mode
        self._bench_stamp = bench_stamp
        self._factory = masker_factory
        self._cond = threading.Condition()
        self._pending: tuple[av.VideoFrame, float] | None = None
        self._reset_requested = False
        self._stopping = False
        self._session_t0: float | None = None
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, frame: av.VideoFrame, arrival: float) -> bool:
        """Offer the newest frame; returns True when it replaced an unprocessed one."""
        with self._cond:
            replaced = self._pending is not None
            self._pending = (frame, arrival)
            self._cond.notify()
        return replaced

    def new_session(self) -> None:
        """Forget everything about the previous patient session before the next frame."""
        with self._cond:
            self._pending = None
            self._reset_requested = True
            self._cond.notify()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._pending = None
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        masker = None
        try:
            if self._mode == "mask":
                masker = self._factory(self._width, self._height)
            self.ready.set()
            while True:
                with self._cond:
                    while self._pending is None and not self._stopping and not self._reset_requested:
                        self._cond.wait()
                    if self._stopping:
                        return
                    reset, self._reset_requested = self._reset_requested, False
                    job, self._pending = self._pending, None
                if reset:
                    self._session_t0 = None
                    if masker is not None:
                        masker.reset()
                if job is not None:
                    self._process(masker, *job)
        except BaseException as e:  # the masker could not start: report, do not hang
            self.failed = e
            log.exception("masking worker failed")
            self.ready.set()
        finally:
            if masker is not None:
                masker.close()

    def _process(self, masker, frame: av.VideoFrame, arrival: float) -> None:
        t0 = time.monotonic()
        if self._session_t0 is None:
            self._session_t0 = arrival
        timestamp = arrival - self._session_t0
        stamp = None
        try:
            if masker is not None:
                rgb = rgb_from_frame(frame)
                if self._bench_stamp:
                    stamp = barcode.read_luma(rgb[:, :, 1])
                result = masker.process(rgb, timestamp, output="yuv420p")
                # a new array per frame (AvatarRenderer.render_yuv420): no copy
                yuv, params, timings = result.frame, result.params, dict(result.timings_ms)
            else:
                # BENCHMARK-ONLY pass-through: the camera frame itself, resized.
                yuv = frame.reformat(self._width, self._height, format="yuv420p").to_ndarray()
                if self._bench_stamp:
                    stamp = barcode.read_luma(yuv[:self._height])
                params, timings = None, {}
        except Exception:
            log.exception("masking failed for one frame; it is dropped (fail closed)")
            self._on_result(MaskedFrame(None, None, {}, arrival, t0, time.monotonic()))
            return
        if stamp is not None:
            barcode.stamp_yuv420p(yuv, stamp)
        self._on_result(MaskedFrame(yuv, params, timings, arrival, t0, time.monotonic()))
