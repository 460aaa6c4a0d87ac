"""Relay building blocks on their own: tokens, message validation, bounded buffers,
the benchmark barcode and the masking worker (with the real FrameMasker)."""

from __future__ import annotations

import asyncio
import threading
import time

import av
import numpy as np
import pytest

from realtime_mask.relay import barcode
from realtime_mask.relay.media import AudioBuffer, LatestSlot
from realtime_mask.relay.protocol import (MAX_MESSAGE_BYTES, Join, Offer,
                                          ProtocolError, parse_client_message)
from realtime_mask.relay.rooms import (AccessError, ConsultationRegistry,
                                       parse_duration)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tokens_are_long_random_and_distinct():
    reg = ConsultationRegistry()
    issued = [reg.create(60) for _ in range(20)]
    tokens = [t for i in issued for t in (i.patient_token, i.doctor_token)]
    assert len(set(tokens)) == len(tokens)
    # token_urlsafe: 6 bits per character; at least 128 bits
    assert min(len(t) for t in tokens) * 6 >= 128
    assert len({i.id for i in issued}) == 20


def test_admit_gives_each_token_its_role_once():
    reg = ConsultationRegistry()
    c = reg.create(60)
    room, role = reg.admit(c.id, c.patient_token)
    assert role == "patient"
    assert reg.admit(c.id, c.doctor_token)[1] == "doctor"
    with pytest.raises(AccessError) as e:
        reg.admit(c.id, c.doctor_token)
    assert e.value.code == "role_taken"
    reg.release(c.id, "doctor")
    assert reg.admit(c.id, c.doctor_token)[1] == "doctor"


@pytest.mark.parametrize("cid,token,code", [
    ("nosuchroom", "x" * 32, "unknown_consultation"),
    ("bad id!", "x" * 32, "bad_request"),
    (None, "x", "bad_request"),
])
def test_admit_refuses_bad_ids(cid, token, code):
    reg = ConsultationRegistry()
    reg.create(60)
    with pytest.raises(AccessError) as e:
        reg.admit(cid, token)
    assert e.value.code == code


def test_wrong_and_cross_consultation_tokens_are_refused():
    reg = ConsultationRegistry()
    a, b = reg.create(60), reg.create(60)
    last = a.patient_token[-1]
    one_char_off = a.patient_token[:-1] + ("B" if last == "A" else "A")
    for token in ("", "x" * 32, one_char_off, b.patient_token, b.doctor_token):
        with pytest.raises(AccessError) as e:
            reg.admit(a.id, token)
        assert e.value.code in ("bad_token", "bad_request")


def test_ttl_must_be_sane():
    reg = ConsultationRegistry()
    for ttl in (0, -5, float("nan"), float("inf"), 30 * 24 * 3600):
        with pytest.raises(ValueError):
            reg.create(ttl)


def test_tokens_expire_and_are_purged_later():
    clock = FakeClock()
    reg = ConsultationRegistry(clock)
    c = reg.create(10)
    clock.now += 10.0
    with pytest.raises(AccessError) as e:
        reg.admit(c.id, c.patient_token)
    assert e.value.code == "expired"
    assert reg.expired_ids() == [c.id]
    clock.now += 2 * 24 * 3600
    reg.purge()
    assert len(reg) == 0


def test_parse_duration():
    assert parse_duration("2h") == 7200
    assert parse_duration("30m") == 1800
    assert parse_duration("90") == 90
    for bad in ("", "-1h", "0", "two hours", "nan", "infh"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_protocol_accepts_the_three_messages():
    assert parse_client_message('{"type":"join","consultation":"abcd","token":"t"}') == Join("abcd", "t")
    assert isinstance(parse_client_message('{"type":"offer","sdp":"v=0"}'), Offer)


@pytest.mark.parametrize("raw,code", [
    ("not json", "bad_json"),
    ("[1,2]", "bad_message"),
    ('{"type":"dance"}', "bad_message"),
    ('{"type":"join","consultation":"abcd"}', "bad_message"),
    ('{"type":"offer","sdp":5}', "bad_message"),
    (b"\x00\x01", "bad_message"),
    ("[" * 30_000 + "]" * 30_000, "bad_json"),
    ('{"type":"offer","sdp":"' + "a" * MAX_MESSAGE_BYTES + '"}', "too_large"),
])
def test_protocol_rejects_bad_messages(raw, code):
    with pytest.raises(ProtocolError) as e:
        parse_client_message(raw)
    assert e.value.code == code
    assert str(e.value)


async def test_latest_slot_keeps_only_the_newest_and_counts_drops():
    slot = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert await slot.get() == 4
    assert slot.dropped == 4
    waiter = asyncio.create_task(slot.get())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    slot.put(7)
    assert await asyncio.wait_for(waiter, 1) == 7


async def test_audio_buffer_is_bounded():
    buf = AudioBuffer(max_frames=3)
    for i in range(10):
        buf.put(i)
    assert [await buf.get() for _ in range(3)] == [7, 8, 9]
    assert buf.dropped == 7


@pytest.mark.parametrize("n", [0, 1, 4321, 65535])
def test_barcode_round_trip_through_vp8(n):
    yuv = np.full((720, 640), 128, np.uint8)
    yuv[:480] = np.random.default_rng(n).integers(0, 255, (480, 640), dtype=np.uint8)
    barcode.stamp_yuv420p(yuv, n)
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 640, 480, "yuv420p"
    enc.bit_rate = 500_000
    dec = av.CodecContext.create("libvpx", "r")
    frames = []
    for packet in enc.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")) + enc.encode(None):
        frames += dec.decode(packet)
    assert barcode.read_luma(frames[0].to_ndarray(format="gray")) == n


def test_barcode_rejects_a_frame_without_code():
    assert barcode.read_luma(np.zeros((480, 640), np.uint8)) is None
    assert barcode.read_luma(np.full((480, 640), 255, np.uint8)) is None


def test_masking_worker_drops_stale_frames_with_the_real_masker(videos_dir, face_model):
    from realtime_mask.relay.worker import MaskingWorker

    with av.open(str(videos_dir / "pyfeat_single_face.mp4")) as c:
        frames = [f for _, f in zip(range(12), c.decode(video=0))]
    results = []
    done = threading.Event()

    def on_result(r):
        results.append(r)
        if len(results) >= 3:
            done.set()

    worker = MaskingWorker(on_result)
    worker.start()
    try:
        assert worker.ready.wait(60) and worker.failed is None
        dropped = sum(worker.submit(f, time.monotonic()) for f in frames)   # a burst
        assert dropped >= len(frames) - 2       # all but the newest (and one in flight) dropped
        for f in frames[:3]:                    # then paced: each is processed
            worker.submit(f, time.monotonic())
            time.sleep(0.4)
        assert done.wait(30)
    finally:
        worker.stop()
    r = results[-1]
    assert r.yuv.shape == (720, 640) and r.yuv.dtype == np.uint8
    assert r.params.face_present
    assert r.done >= r.started >= r.arrival
    assert len(results) <= len(frames) + 3 - dropped


def _rtp(seq: int, ts: int, marker: bool, data: bytes):
    from aiortc.rtp import RtpPacket
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, marker=marker)
    p._data = data
    return p


def test_marker_jitter_buffer_completes_a_frame_on_its_last_packet():
    from realtime_mask.relay.lowlatency import MarkerJitterBuffer

    jb = MarkerJitterBuffer(capacity=16, is_video=True)
    assert jb.add(_rtp(1, 100, False, b"a"))[1] is None
    frame = jb.add(_rtp(2, 100, True, b"b"))[1]        # marker: out now, not one frame later
    assert frame is not None and frame.data == b"ab" and frame.timestamp == 100
    # A frame whose marker packet was lost still completes when the next one starts.
    assert jb.add(_rtp(3, 200, False, b"c"))[1] is None
    frame = jb.add(_rtp(4, 300, False, b"d"))[1]
    assert frame is not None and frame.data == b"c" and frame.timestamp == 200
    # A gap holds the frame back until the missing packet arrives.
    assert jb.add(_rtp(6, 300, True, b"f"))[1] is None
    frame = jb.add(_rtp(5, 300, False, b"e"))[1]
    assert frame is not None and frame.data == b"def"


def test_marker_jitter_buffer_skips_a_lost_packet_instead_of_freezing():
    from realtime_mask.relay.lowlatency import SKIP_AFTER_FRAMES, MarkerJitterBuffer

    jb = MarkerJitterBuffer(capacity=64, is_video=True)
    assert jb.add(_rtp(1, 100, True, b"a"))[1] is not None
    # Packet 2 (frame 200) is lost for good; frames 300, 400, ... arrive complete.
    jb.add(_rtp(3, 200, True, b"b"))
    out = []
    seq, ts = 4, 300
    for _ in range(SKIP_AFTER_FRAMES + 2):
        pli, frame = jb.add(_rtp(seq, ts, True, bytes([seq])))
        out.append((pli, frame))
        seq, ts = seq + 1, ts + 100
    frames = [(pli, f) for pli, f in out if f is not None]
    assert frames, "the buffer froze behind the lost packet"
    pli, first = frames[0]
    assert pli is True                        # a keyframe is requested
    assert first.timestamp == 300             # resumes at the first whole frame after the hole
    assert all(f.timestamp > 200 for _, f in frames)


@pytest.mark.parametrize("host,tls,warned", [
    ("127.0.0.1", False, False), ("localhost", False, False), ("::1", False, False),
    ("0.0.0.0", False, True), ("192.168.1.20", False, True), ("0.0.0.0", True, False),
])
def test_serving_plain_http_beyond_loopback_warns_about_the_camera(host, tls, warned):
    from realtime_mask.commands.serve import plain_http_warning

    message = plain_http_warning(host, tls)
    assert (message is not None) == warned
    if warned:
        assert "--cert" in message and host in message
