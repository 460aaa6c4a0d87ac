"""Emit received video frames on their last packet, not on the next frame's first.

aiortc's video jitter buffer only knows a frame is complete when a packet with a
new RTP timestamp arrives, so every received frame waits one frame interval
(33 ms at 30 fps; 200 ms at 5 fps) before it is decoded. The RTP marker bit
already says "last packet of this frame". This subclass completes a frame on the
marker (falling back to the timestamp change when a marker is lost) and is
installed on the relay's video receivers, where it takes one frame interval off
the patient -> relay leg. It relies on one private attribute of aiortc's
RTCRtpReceiver; when that is missing the default buffer stays (and we log it).
"""

from __future__ import annotations

import logging

from aiortc.jitterbuffer import JitterBuffer, JitterFrame

log = logging.getLogger(__name__)

_ATTR = "_RTCRtpReceiver__jitter_buffer"


# A lost packet normally comes back by NACK within a round trip. When this many
# complete frames are already waiting behind the hole, it is not coming: skip it
# and ask for a keyframe, instead of freezing until 512 packets have piled up
# (seconds) as aiortc's buffer would.
SKIP_AFTER_FRAMES = 3


class MarkerJitterBuffer(JitterBuffer):
    def add(self, packet):
        pli_flag, frame = super().add(packet)
        if frame is None and self._skip_stale_gap():
            pli_flag = True
            frame = self._remove_frame(packet.sequence_number)
        return pli_flag, frame

    def _skip_stale_gap(self) -> bool:
        if self._origin is None:
            return False
        gap = False
        markers = 0
        resume = None
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                gap = True
            elif gap and packet.marker:
                markers += 1
                if resume is None:
                    resume = count + 1          # the first packet after that frame
        if not gap or markers < SKIP_AFTER_FRAMES:
            return False
        self.remove(resume)
        return True

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        packets = []
        timestamp = None
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                return None                       # a gap: wait for it (or a NACK resend)
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:   # marker lost: the old rule
                self.remove(count)
                return JitterFrame(b"".join(p._data for p in packets), timestamp)
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return JitterFrame(b"".join(p._data for p in packets), timestamp)
        return None


def emit_video_on_marker(receiver) -> bool:
    """Swap in the marker-aware buffer on a video RTCRtpReceiver (before media flows)."""
    if getattr(receiver.track, "kind", None) != "video":
        return False
    if not isinstance(getattr(receiver, _ATTR, None), JitterBuffer):
        log.warning("aiortc internals changed: keeping the default video jitter buffer")
        return False
    setattr(receiver, _ATTR, MarkerJitterBuffer(capacity=512, is_video=True))
    return True
