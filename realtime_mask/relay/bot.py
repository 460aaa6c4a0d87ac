"""A scripted Python participant (aiortc): used by the relay tests and the latency benchmark.

It speaks the same signalling protocol as the pages: join, offer with complete ICE
candidates, answer. It can publish any aiortc tracks and collects what it receives.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from typing import Callable

import aiohttp
import av
import numpy as np
from aiortc import (MediaStreamTrack, RTCConfiguration, RTCPeerConnection,
                    RTCSessionDescription)
from aiortc.mediastreams import MediaStreamError

from .lowlatency import emit_video_on_marker

VIDEO_CLOCK = 90_000


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RelayBot:
    def __init__(self, base_url: str, consultation: str, token: str,
                 role: str | None = None) -> None:
        self.page_role = role
        self.ws_url = base_url.rstrip("/").replace("http", "ws", 1) + "/ws"
        self.consultation = consultation
        self.token = token
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.pc: RTCPeerConnection | None = None
        self.role: str | None = None
        self.messages: list[dict] = []
        self.errors: list[dict] = []
        self.tracks: list[MediaStreamTrack] = []
        self._answer: asyncio.Future | None = None
        self._reader: asyncio.Task | None = None
        self._consumers: list[asyncio.Task] = []
        self.closed = asyncio.Event()

    async def join(self, timeout: float = 10.0) -> dict:
        try:
            return await self._join(timeout)
        except BaseException:
            await self.close()
            raise

    async def _join(self, timeout: float) -> dict:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.ws_url)
        join = {"type": "join", "consultation": self.consultation, "token": self.token}
        if self.page_role is not None:
            join["role"] = self.page_role
        await self.ws.send_json(join)
        msg = await asyncio.wait_for(self.ws.receive(), timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise Refused("closed", f"socket closed before joining ({msg.type.name})")
        data = json.loads(msg.data)
        if data["type"] == "error":
            raise Refused(data["code"], data["message"])
        self.role = data["role"]
        self._reader = asyncio.create_task(self._read())
        return data

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            if data["type"] == "answer" and self._answer and not self._answer.done():
                self._answer.set_result(data["sdp"])
            elif data["type"] == "error":
                self.errors.append(data)
                if self._answer and not self._answer.done():
                    self._answer.set_exception(Refused(data["code"], data["message"]))
            else:
                self.messages.append(data)
        self.closed.set()
        if self._answer and not self._answer.done():
            self._answer.set_exception(Refused("closed", "socket closed"))

    async def send_raw(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def call(self, send: list[MediaStreamTrack], receive: list[str],
                   on_track: Callable[[MediaStreamTrack], None] | None = None,
                   timeout: float = 15.0, low_latency: bool = True) -> None:
        """Offer: `send` tracks go out sendrecv, then one recvonly transceiver per kind in
        `receive`; received tracks go to `on_track` (default: drained and counted)."""
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for track in send:
            self.pc.addTransceiver(track, direction="sendrecv")
        for kind in receive:
            self.pc.addTransceiver(kind, direction="recvonly")

        @self.pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            self.tracks.append(track)
            if on_track is not None:
                on_track(track)
            else:
                self._consumers.append(asyncio.create_task(drain(track)))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._answer = asyncio.get_running_loop().create_future()
        await self.ws.send_json({"type": "offer", "sdp": self.pc.localDescription.sdp})
        sdp = await asyncio.wait_for(self._answer, timeout)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        if low_latency:   # receive like a browser does: a frame is complete on its marker bit
            for transceiver in self.pc.getTransceivers():
                emit_video_on_marker(transceiver.receiver)

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]

    async def close(self) -> None:
        for task in self._consumers:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 2)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
        if self.session is not None:
            await self.session.close()


async def drain(track: MediaStreamTrack, sink: Callable | None = None) -> int:
    n = 0
    try:
        while True:
            frame = await track.recv()
            n += 1
            if sink is not None:
                sink(frame)
    except MediaStreamError:
        return n


class ArrayVideoTrack(MediaStreamTrack):
    """Sends prepared I420 frames (H*3/2, W) in a loop at a fixed rate.

    `before_send(index, yuv)` may stamp or record each frame just before it goes to
    the encoder (the benchmark records send times there)."""

    kind = "video"

    def __init__(self, frames: list[np.ndarray], fps: float = 30.0,
                 before_send: Callable[[int, np.ndarray], np.ndarray] | None = None) -> None:
        super().__init__()
        self.frames = frames
        self.fps = fps
        self.before_send = before_send
        self.index = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.index / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yuv = self.frames[self.index % len(self.frames)]
        if self.before_send is not None:
            yuv = self.before_send(self.index, yuv)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = int(self.index * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.index += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames, 48 kHz mono s16."""

    kind = "audio"
    RATE = 48_000
    SAMPLES = 960

    def __init__(self, hz: float = 440.0) -> None:
        super().__init__()
        self.hz = hz
        self.n = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self.n * self.SAMPLES / self.RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(self.SAMPLES) + self.n * self.SAMPLES) / self.RATE
        pcm = (8000 * np.sin(2 * np.pi * self.hz * t)).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = self.n * self.SAMPLES
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.n += 1
        return frame


def clip_frames_yuv(path, width: int = 640, height: int = 480, limit: int | None = None
                    ) -> list[np.ndarray]:
    """Decode a clip into I420 frames at width x height (letterboxing not needed for tests)."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.reformat(width, height, format="yuv420p").to_ndarray())
            if limit is not None and len(frames) >= limit:
                break
    return frames
