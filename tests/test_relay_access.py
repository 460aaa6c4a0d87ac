"""Access control and bad input against a real relay process (real FrameMasker, aiortc).

One relay serves the whole module. Python aiortc participants speak the same
protocol as the pages.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from realtime_mask.params import SCHEMA_VERSION
from realtime_mask.relay.bot import (ArrayVideoTrack, RelayBot, Refused,
                                     ToneAudioTrack, clip_frames_yuv, drain)
from realtime_mask.relay.launch import ServerProcess


@pytest.fixture(scope="module")
def server():
    with ServerProcess("--log-interval", "2") as s:
        yield s


@pytest.fixture(scope="module")
def clip(videos_dir):
    return clip_frames_yuv(videos_dir / "pyfeat_single_face.mp4", limit=30)


async def refused(server, cid, token) -> Refused:
    bot = RelayBot(server.url, cid, token)
    with pytest.raises(Refused) as e:
        await bot.join()
    return e.value


async def test_wrong_token_is_refused(server):
    room = server.new_room()
    err = await refused(server, room.id, room.patient_token[::-1])
    assert err.code == "bad_token" and "token" in err.message
    err = await refused(server, room.id, server.demo.doctor_token)   # another room's token
    assert err.code == "bad_token"


async def test_a_token_opens_only_its_own_role(server):
    room = server.new_room()
    bot = RelayBot(server.url, room.id, room.patient_token, role="doctor")
    with pytest.raises(Refused) as e:
        await bot.join()
    assert e.value.code == "wrong_page" and "patient link" in e.value.message
    ok = RelayBot(server.url, room.id, room.patient_token, role="patient")   # slot released
    assert (await ok.join())["role"] == "patient"
    await ok.close()


async def test_unknown_consultation_is_refused(server):
    err = await refused(server, "NoSuchConsult", server.demo.patient_token)
    assert err.code == "unknown_consultation"


async def test_expired_token_is_refused(server):
    room = server.new_room(ttl_s=1)
    await asyncio.sleep(1.3)
    err = await refused(server, room.id, room.doctor_token)
    assert err.code == "expired" and "expired" in err.message


async def test_a_consultation_ends_for_connected_peers_when_it_expires(server):
    room = server.new_room(ttl_s=2)
    doctor = RelayBot(server.url, room.id, room.doctor_token)
    await doctor.join()
    try:
        await asyncio.wait_for(doctor.closed.wait(), 10)
        assert [e["code"] for e in doctor.errors] == ["expired"]
    finally:
        await doctor.close()


async def test_second_doctor_is_refused_until_the_first_leaves(server):
    room = server.new_room()
    first = RelayBot(server.url, room.id, room.doctor_token)
    assert (await first.join())["role"] == "doctor"
    try:
        err = await refused(server, room.id, room.doctor_token)
        assert err.code == "role_taken"
    finally:
        await first.close()
    await asyncio.sleep(0.3)
    again = RelayBot(server.url, room.id, room.doctor_token)
    assert (await again.join())["role"] == "doctor"
    await again.close()


async def test_refused_client_gets_no_media(server):
    room = server.new_room()
    bot = RelayBot(server.url, room.id, "x" * 32)
    with pytest.raises(Refused):
        await bot.join()
    assert bot.ws is None or bot.ws.closed      # the socket is gone: nothing to offer on


def test_admin_endpoint_needs_the_secret(server):
    req = urllib.request.Request(server.url + "/api/consultations", data=b"{}", method="POST",
                                 headers={"Authorization": "Bearer wrong"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 403


def test_both_pages_link_an_icon_that_the_relay_serves(server):
    """Browsers ask every page for an icon; a 404 there is a console error on every visit."""
    for path in ("/patient", "/doctor"):
        with urllib.request.urlopen(server.url + path, timeout=5) as page:
            assert '<link rel="icon" href="/web/icon.svg"' in page.read().decode()
    for path in ("/web/icon.svg", "/favicon.ico"):
        with urllib.request.urlopen(server.url + path, timeout=5) as icon:
            assert icon.headers["Content-Type"].startswith("image/svg+xml")
            assert icon.read().lstrip().startswith(b"<svg")


def test_room_new_prints_working_links(server):
    out = subprocess.run([sys.executable, "-m", "realtime_mask", "room", "new", "--ttl", "10m",
                          "--state-file", str(server.state_file), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    links = json.loads(out.stdout)["links"]
    assert links["patient"].startswith(server.url + "/patient#c=")
    assert links["doctor"].startswith(server.url + "/doctor#c=")
    bad = subprocess.run([sys.executable, "-m", "realtime_mask", "room", "new", "--ttl", "soon",
                          "--state-file", str(server.state_file)], capture_output=True, text=True)
    assert bad.returncode == 2 and "bad duration" in bad.stderr


@pytest.mark.parametrize("content", ["{not json", "{}", "[1, 2]"])
def test_room_new_with_a_damaged_state_file_is_one_clear_error(tmp_path, content):
    state = tmp_path / "server.json"
    state.write_text(content)
    out = subprocess.run([sys.executable, "-m", "realtime_mask", "room", "new",
                          "--state-file", str(state)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().count("\n") == 0 and "no running relay found" in out.stderr


def test_serve_that_cannot_write_its_state_file_says_so(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    out = subprocess.run([sys.executable, "-m", "realtime_mask", "serve", "--port", "0",
                          "--state-file", str(blocked / "server.json")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 2, out.stderr
    assert "cannot write the state file" in out.stderr and "Traceback" not in out.stderr


class Call:
    """A live consultation: a patient bot sending the clip, a doctor bot counting frames."""

    def __init__(self, server, clip) -> None:
        self.room = server.new_room()
        self.patient = RelayBot(server.url, self.room.id, self.room.patient_token)
        self.doctor = RelayBot(server.url, self.room.id, self.room.doctor_token)
        self.clip = clip
        self.frames = 0
        self.tasks: list[asyncio.Task] = []

    def _count(self, _frame) -> None:
        self.frames += 1

    def _on_doctor_track(self, track) -> None:
        sink = self._count if track.kind == "video" else None
        self.tasks.append(asyncio.create_task(drain(track, sink)))

    async def start(self) -> None:
        await self.patient.join()
        await self.doctor.join()
        await self.patient.call([ArrayVideoTrack(self.clip), ToneAudioTrack()], ["video"])
        await self.doctor.call([ToneAudioTrack()], ["video"], on_track=self._on_doctor_track)

    async def wait_frames(self, n: int, timeout: float = 60.0) -> None:
        target = self.frames + n
        for _ in range(int(timeout * 10)):
            if self.frames >= target:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"doctor got {self.frames} frames, wanted {target}")

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await self.patient.close()
        await self.doctor.close()


def unsupported_codec_offer(sdp: str) -> str:
    # Rename every video codec so that nothing in the offer is decodable by the relay.
    for name in ("VP8", "H264", "rtx"):
        sdp = sdp.replace(f" {name}/90000", f" X{name}/90000")
    return sdp


async def offer_sdp() -> str:
    from aiortc import RTCPeerConnection
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def test_bad_input_gets_errors_while_another_consultation_keeps_streaming(server, clip):
    live = Call(server, clip)
    await live.start()
    try:
        await live.wait_frames(10)
        room = server.new_room()
        good_offer = await offer_sdp()
        bad_inputs = [
            ("not json at all", "bad_json"),
            ('{"type": "offer"}', "bad_message"),
            ('{"type": "dance"}', "bad_message"),
            (json.dumps({"type": "offer", "sdp": "x" * 100_000}), "too_large"),
            (json.dumps({"type": "offer", "sdp": "v=0\r\nthis is not sdp\r\n"}), "bad_sdp"),
            (json.dumps({"type": "offer", "sdp": unsupported_codec_offer(good_offer)}),
             "unsupported_codec"),
            (json.dumps({"type": "join", "consultation": room.id, "token": room.patient_token}),
             "bad_message"),                                       # joining twice
        ]
        for raw, code in bad_inputs:
            bot = RelayBot(server.url, room.id, room.patient_token)
            await bot.join()
            await bot.send_raw(raw)
            await asyncio.wait_for(bot.closed.wait(), 10)
            assert [e["code"] for e in bot.errors] == [code], raw[:60]
            assert bot.errors[0]["message"]
            await bot.close()
            await asyncio.sleep(0.2)          # the relay releases the patient slot
        # Binary frames and a join with a bad id over a raw socket.
        bot = RelayBot(server.url, room.id, room.patient_token)
        await bot.join()
        await bot.ws.send_bytes(b"\x00\xff")
        await asyncio.wait_for(bot.closed.wait(), 10)
        assert bot.errors[0]["code"] == "bad_message"
        await bot.close()
        # The other consultation never stopped.
        await live.wait_frames(30)
        assert not live.doctor.errors and not live.patient.errors
    finally:
        await live.close()


async def test_a_vanished_patient_is_cleaned_up_and_can_return(server, clip):
    call = Call(server, clip)
    await call.start()
    try:
        await call.wait_frames(5)
        # Vanish: drop the media and the socket without a goodbye.
        await call.patient.pc.close()
        await call.patient.ws.close()
        for _ in range(100):
            if any(m == {"type": "peer", "role": "patient", "state": "left"}
                   for m in call.doctor.messages):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the doctor was not told the patient left")
        await call.patient.close()
        # The same link works again: a new session streams to the same doctor.
        call.patient = RelayBot(server.url, call.room.id, call.room.patient_token)
        await call.patient.join()
        await call.patient.call([ArrayVideoTrack(call.clip)], ["video"])
        await call.wait_frames(10)
        params = call.doctor.of_type("params")
        stats = call.doctor.of_type("stats")
        assert params and params[-1]["params"]["version"] == SCHEMA_VERSION
        assert stats and stats[-1]["stats"]["frames_out"] > 0
    finally:
        await call.close()


def test_server_survived_everything_without_a_traceback(server):
    # Runs last in this module: all the bad input above produced errors, not crashes.
    assert server.proc.poll() is None
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as resp:
        assert json.load(resp)["ok"] is True
    log = server.log_text()
    assert "Traceback" not in log, log[-3000:]
    assert "stats {" in log                 # the periodic per-consultation stats line
