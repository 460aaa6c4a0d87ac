"""File I/O at the edges: read videos and images as RGB frames, write masked output."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
VIDEO_CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264",
                ".webm": "libvpx", ".avi": "mpeg4", ".mpg": "mpeg4"}


class MediaError(Exception):
    """An input that cannot be read or an output that cannot be written."""


def is_image(path: Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: Path) -> np.ndarray:
    data = np.fromfile(str(path), np.uint8) if Path(path).is_file() else None
    if data is None:
        raise MediaError(f"{path}: no such file")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None   # cv2 asserts on b""
    if bgr is None:
        raise MediaError(f"{path}: not a readable image (jpg, png, webp)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_image(path: Path, rgb: np.ndarray) -> None:
    ok, buf = cv2.imencode(Path(path).suffix.lower() or ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise MediaError(f"{path}: cannot encode an image with this suffix")
    buf.tofile(str(path))


def rgb_from_frame(frame: av.VideoFrame) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a decoded video frame. Camera streams (VP8 and
    H.264 from browsers: yuv420p, limited range) convert with cv2, 0.2-0.3 ms
    at 640x480 against ~0.8 ms through swscale (the two differ by about one grey
    level of rounding); anything else goes through swscale."""
    if (frame.format.name == "yuv420p" and frame.color_range != 2      # 2: full (JPEG) range
            and frame.width % 2 == 0 and frame.height % 2 == 0):
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


@dataclass
class VideoInfo:
    frame_rate: Fraction
    frame_count: int | None   # from the container; None when unknown
    width: int                # as stored (read_video turns frames upright)
    height: int


def probe_video(path: Path) -> VideoInfo:
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise MediaError(f"{path}: has no video stream")
            s = c.streams.video[0]
            rate = s.average_rate or s.guessed_rate or Fraction(30)
            return VideoInfo(Fraction(rate), s.frames or None, s.codec_context.width,
                             s.codec_context.height)
    except av.FFmpegError as e:
        raise MediaError(f"{path}: not a readable video ({e})") from e


# Phones store portrait video as landscape frames with a display rotation
# (counter-clockwise degrees, as players apply it); decoded as stored, the
# patient lies on her side and the read-out reports a 90-degree head tilt.
_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180,
            270: cv2.ROTATE_90_CLOCKWISE}


def upright(rgb: np.ndarray, rotation: float) -> np.ndarray:
    """The frame as a player shows it, given its display rotation."""
    code = _UPRIGHT.get(int(round(rotation)) % 360)
    return rgb if code is None else cv2.rotate(rgb, code)


def read_video(path: Path) -> Iterator[tuple[np.ndarray, float]]:
    """Yield (rgb frame as displayed, timestamp in seconds) for every decoded frame."""
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(c.decode(stream)):
                t = float(frame.time) if frame.time is not None else i / float(stream.average_rate or 30)
                yield upright(frame.to_ndarray(format="rgb24"), frame.rotation), t
    except av.FFmpegError as e:
        raise MediaError(f"{path}: decoding failed ({e})") from e


class VideoWriter:
    """Constant-frame-rate writer: frame i gets pts i, so the frame count and rate
    of the input are kept."""

    def __init__(self, path: Path, width: int, height: int, frame_rate: Fraction):
        codec = VIDEO_CODECS.get(Path(path).suffix.lower())
        if codec is None:
            raise MediaError(f"{path}: unsupported output type; use one of {sorted(VIDEO_CODECS)}")
        try:
            self._container = av.open(str(path), "w")
        except av.FFmpegError as e:
            raise MediaError(f"{path}: cannot write ({e})") from e
        self._stream = self._container.add_stream(codec, rate=frame_rate)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self._stream.options = {"crf": "18", "preset": "veryfast"}
        self._time_base = 1 / Fraction(frame_rate)
        self._pts = 0
        self._path = path

    def write_yuv420(self, i420: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        self._write(frame)

    def write_rgb(self, rgb: np.ndarray) -> None:
        self._write(av.VideoFrame.from_ndarray(rgb, format="rgb24"))

    def _write(self, frame: av.VideoFrame) -> None:
        frame.pts = self._pts
        frame.time_base = self._time_base
        self._pts += 1
        self._mux(self._stream.encode(frame))

    def _mux(self, packets) -> None:
        # the file is only opened with the first packet, a few frames in
        try:
            for packet in packets:
                self._container.mux(packet)
        except av.FFmpegError as e:
            raise MediaError(f"{self._path}: cannot write ({e})") from e

    def close(self) -> None:
        self._mux(self._stream.encode())
        self._container.close()
