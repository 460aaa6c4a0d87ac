"""Frame hand-over between peers inside the relay, bounded so latency cannot grow.

A `LatestSlot` keeps only the newest video item (older unread ones are dropped and
counted); an `AudioBuffer` keeps at most ~200 ms of audio. `SlotTrack` turns either
into an outgoing aiortc track and re-stamps timestamps so a source that comes and
goes (a peer reconnecting) still gives the encoder a monotonic clock.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from typing import Any, Callable

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

VIDEO_CLOCK = 90_000
AUDIO_BUFFER_FRAMES = 10          # 10 x 20 ms Opus frames


class LatestSlot:
    """Single-consumer newest-item slot for the asyncio side."""

    def __init__(self) -> None:
        self._item: Any = None
        self._event = asyncio.Event()
        self.dropped = 0

    def put(self, item: Any) -> None:
        if self._item is not None:
            self.dropped += 1
        self._item = item
        self._event.set()

    def clear(self) -> None:
        self._item = None
        self._event.clear()

    async def get(self) -> Any:
        while self._item is None:
            self._event.clear()
            await self._event.wait()
        item, self._item = self._item, None
        self._event.clear()
        return item


class AudioBuffer:
    """Single-consumer FIFO of audio frames; the oldest are dropped past the bound."""

    def __init__(self, max_frames: int = AUDIO_BUFFER_FRAMES) -> None:
        self._frames: deque = deque(maxlen=max_frames)
        self._event = asyncio.Event()
        self.dropped = 0

    def put(self, frame: av.AudioFrame) -> None:
        if len(self._frames) == self._frames.maxlen:
            self.dropped += 1
        self._frames.append(frame)
        self._event.set()

    def clear(self) -> None:
        self._frames.clear()
        self._event.clear()

    async def get(self) -> av.AudioFrame:
        while not self._frames:
            self._event.clear()
            await self._event.wait()
        return self._frames.popleft()


class SlotTrack(MediaStreamTrack):
    """Outgoing track fed from a LatestSlot (video) or AudioBuffer (audio).

    `make_frame` converts a slot item into the av frame to send (each consumer gets
    its own frame object, so two encoders never share one pts).
    """

    def __init__(self, kind: str, source: LatestSlot | AudioBuffer,
                 make_frame: Callable[[Any], av.VideoFrame | av.AudioFrame] = lambda f: f
                 ) -> None:
        super().__init__()
        self.kind = kind
        self._source = source
        self._make_frame = make_frame
        self._t0 = time.monotonic()
        self._audio_pts: int | None = None
        self.sent = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._source.get()
        frame = self._make_frame(item)
        now = time.monotonic() - self._t0
        if self.kind == "video":
            frame.pts = int(now * VIDEO_CLOCK)
            frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        else:
            rate = frame.sample_rate
            wall = int(now * rate)
            # Continuous sample count while audio flows; jump to the wall clock
            # after a gap (peer away) so the receiver's timeline stays real-time.
            if self._audio_pts is None or wall - self._audio_pts > rate // 10:
                self._audio_pts = wall
            frame.pts = self._audio_pts
            frame.time_base = fractions.Fraction(1, rate)
            self._audio_pts += frame.samples
        self.sent += 1
        return frame


def yuv420p_frame(yuv) -> av.VideoFrame:
    """I420 planes stacked as (H*3/2, W) uint8 -> a new av.VideoFrame."""
    return av.VideoFrame.from_ndarray(yuv, format="yuv420p")


def small_preview_frame(yuv) -> av.VideoFrame:
    """The patient's "what the doctor sees" preview at half size: a quarter of the encode cost."""
    frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
    return frame.reformat(width=frame.width // 2, height=frame.height // 2)


async def pump(track: MediaStreamTrack, sink: Callable[[Any], None]) -> None:
    """Read an incoming track until it ends, handing every frame to `sink`."""
    try:
        while True:
            sink(await track.recv())
    except MediaStreamError:
        pass
