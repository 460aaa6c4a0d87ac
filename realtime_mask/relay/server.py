"""One aiohttp process: the two pages, the signalling WebSocket and the aiortc peers.

Each WebSocket is one peer session. The browser offers, the relay answers (no
trickle ICE: both sides send complete candidate lists, which is instant on a LAN
or loopback). A patient session feeds the consultation's masking worker and the
patient-audio buffer; a doctor session feeds the doctor video/audio buffers. The
doctor is sent only the masked video (plus its parameters on the socket) and the
patient's audio; the patient gets the doctor's camera and microphone and a small
preview of the masked video. Any error in one session is sent to that client,
ends that session, and nothing else.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from aiohttp import WSMsgType, web
from aiortc import (RTCConfiguration, RTCIceServer, RTCPeerConnection,
                    RTCSessionDescription)
from aiortc.exceptions import InvalidStateError, OperationError

from .lowlatency import emit_video_on_marker
from .media import (AudioBuffer, LatestSlot, SlotTrack, pump, small_preview_frame,
                    yuv420p_frame)
from .protocol import (Bye, Join, Offer, ProtocolError, error,
                       parse_client_message)
from .rooms import AccessError, Consultation, ConsultationRegistry
from .stats import MediaStats
from .worker import MaskedFrame, MaskingWorker, default_masker_factory

log = logging.getLogger("realtime_mask.relay")

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
OUTBOX_MESSAGES = 64                 # per client; params are dropped beyond this
WS_MAX_FRAME_BYTES = 1 << 20         # hard cap; our own 64 kB check answers politely
# Close codes: the JSON error before the close says what happened.
CLOSE_POLICY = 1008


@dataclass
class RelayConfig:
    width: int = 640
    height: int = 480
    mode: str = "mask"                   # "passthrough" is BENCHMARK-ONLY
    bench_stamp: bool = False            # BENCHMARK-ONLY frame-number barcode
    preview_fps: float = 10.0            # the patient's "what the doctor sees" preview
    stats_interval_s: float = 1.0
    log_interval_s: float = 10.0
    join_timeout_s: float = 10.0
    worker_idle_s: float = 300.0         # stop a consultation's masker after this long empty
    ice_servers: list[str] = field(default_factory=list)
    admin_secret: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    masker_factory: Callable[[int, int], Any] = default_masker_factory


class PeerSession:
    """One connected browser: its socket, its peer connection, its tasks."""

    def __init__(self, ws: web.WebSocketResponse, role: str) -> None:
        self.ws = ws
        self.role = role
        self.pc: RTCPeerConnection | None = None
        self.tasks: list[asyncio.Task] = []
        self.pumped_kinds: set[str] = set()
        self.outbox: asyncio.Queue = asyncio.Queue(maxsize=OUTBOX_MESSAGES)
        self.dropped_messages = 0
        self.closed = asyncio.Event()
        self.tasks.append(asyncio.create_task(self._write()))

    def send(self, msg: dict) -> None:
        """Queue a message; never blocks the media path (drops when the client lags)."""
        try:
            self.outbox.put_nowait(msg)
        except asyncio.QueueFull:
            self.dropped_messages += 1

    async def _write(self) -> None:
        try:
            while True:
                msg = await self.outbox.get()
                try:
                    await self.ws.send_str(json.dumps(msg, separators=(",", ":")))
                finally:
                    self.outbox.task_done()
        except (ConnectionError, RuntimeError):
            self.closed.set()

    async def drain(self, timeout: float = 1.0) -> None:
        """Let queued messages (e.g. a final error) reach the client before closing."""
        if self.ws.closed:
            return
        try:
            await asyncio.wait_for(self.outbox.join(), timeout)
        except asyncio.TimeoutError:
            pass

    def end(self) -> None:
        """Ask the socket loop to finish (e.g. the peer connection failed)."""
        self.closed.set()


class LiveConsultation:
    """Runtime state of one consultation: sessions, media buffers, masker, stats."""

    def __init__(self, room: Consultation, config: RelayConfig) -> None:
        self.room = room
        self.config = config
        self.sessions: dict[str, PeerSession] = {}
        self.stats = MediaStats()
        self.worker: MaskingWorker | None = None
        self.loop = asyncio.get_running_loop()
        self.masked_to_doctor = LatestSlot()
        self.preview_to_patient = LatestSlot()
        self.doctor_video = LatestSlot()
        self.doctor_audio = AudioBuffer()
        self.patient_audio = AudioBuffer()
        self._last_preview = 0.0
        self.idle_since: float | None = time.monotonic()

    # -- masking ---------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self.worker is None:
            self.worker = MaskingWorker(
                self._from_worker, width=self.config.width, height=self.config.height,
                mode=self.config.mode, bench_stamp=self.config.bench_stamp,
                masker_factory=self.config.masker_factory, name=f"masker-{self.room.id}")
            self.worker.start()

    def on_patient_video(self, frame) -> None:
        self.stats.frame_in()
        if self.worker is not None and self.worker.submit(frame, time.monotonic()):
            self.stats.dropped_stale += 1

    def _from_worker(self, result: MaskedFrame) -> None:   # worker thread
        try:
            self.loop.call_soon_threadsafe(self._publish, result)
        except RuntimeError:
            pass                                            # loop closed at shutdown

    def _publish(self, result: MaskedFrame) -> None:
        if result.yuv is None:
            self.stats.errors += 1
            return
        if "patient" not in self.sessions:
            return                                          # in flight when the patient left
        params = result.params
        face = bool(params.face_present) if params is not None else True
        self.stats.frame_out((result.done - result.started) * 1000.0,
                             (result.done - result.arrival) * 1000.0, face, result.timings_ms)
        self.masked_to_doctor.put(result.yuv)
        now = time.monotonic()
        if now - self._last_preview >= 1.0 / self.config.preview_fps:
            self._last_preview = now
            self.preview_to_patient.put(result.yuv)
        doctor = self.sessions.get("doctor")
        if doctor is not None and params is not None:
            doctor.send({"type": "params", "params": params.to_dict()})

    # -- sessions --------------------------------------------------------
    def attach(self, session: PeerSession) -> None:
        self.sessions[session.role] = session
        self.idle_since = None
        for other in self.sessions.values():
            if other is not session:
                other.send({"type": "peer", "role": session.role, "state": "connected"})
                session.send({"type": "peer", "role": other.role, "state": "connected"})
        if session.role == "patient":
            self._ensure_worker()
            self.worker.new_session()
            self.masked_to_doctor.clear()
            self.preview_to_patient.clear()
            self.patient_audio.clear()
        else:
            self.doctor_video.clear()
            self.doctor_audio.clear()

    async def detach(self, session: PeerSession) -> None:
        if self.sessions.get(session.role) is session:
            del self.sessions[session.role]
        for task in session.tasks:
            task.cancel()
        if session.pc is not None:
            await session.pc.close()
        for other in self.sessions.values():
            other.send({"type": "peer", "role": session.role, "state": "left"})
        if session.role == "patient" and self.worker is not None:
            self.worker.new_session()
            self.masked_to_doctor.clear()
            self.preview_to_patient.clear()
        if not self.sessions:
            self.idle_since = time.monotonic()

    def on_track(self, session: PeerSession, track) -> None:
        sinks = {
            ("patient", "video"): self.on_patient_video,
            ("patient", "audio"): self.patient_audio.put,
            ("doctor", "video"): self.doctor_video.put,
            ("doctor", "audio"): self.doctor_audio.put,
        }
        sink = sinks[(session.role, track.kind)]
        if track.kind in session.pumped_kinds:
            sink = _discard                      # extra tracks are drained, never used
        session.pumped_kinds.add(track.kind)
        session.tasks.append(asyncio.create_task(pump(track, sink)))

    def outgoing_tracks(self, role: str) -> dict[str, list[SlotTrack]]:
        if role == "patient":
            return {"video": [SlotTrack("video", self.doctor_video),
                              SlotTrack("video", self.preview_to_patient, small_preview_frame)],
                    "audio": [SlotTrack("audio", self.doctor_audio)]}
        return {"video": [SlotTrack("video", self.masked_to_doctor, yuv420p_frame)],
                "audio": [SlotTrack("audio", self.patient_audio)]}

    def snapshot(self) -> dict:
        snap = self.stats.snapshot(dropped_at_send=self.masked_to_doctor.dropped)
        snap["patient_connected"] = "patient" in self.sessions
        snap["doctor_connected"] = "doctor" in self.sessions
        if self.worker is not None and self.worker.failed is not None:
            snap["masker_error"] = f"masking engine failed: {self.worker.failed}"
        return snap

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


def _discard(_frame) -> None:
    pass


class RelayServer:
    def __init__(self, config: RelayConfig, registry: ConsultationRegistry | None = None) -> None:
        self.config = config
        self.registry = registry or ConsultationRegistry()
        self.live: dict[str, LiveConsultation] = {}
        self._housekeeping: asyncio.Task | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    # -- app -------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_get("/", self._index)
        app.router.add_get("/patient", self._page("patient.html"))
        app.router.add_get("/doctor", self._page("doctor.html"))
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/favicon.ico", self._icon)   # asked for by browsers on any page
        app.router.add_get("/ws", self._websocket)
        app.router.add_post("/api/consultations", self._create_consultation)
        app.router.add_static("/web/", WEB_DIR, follow_symlinks=False)
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._shutdown)
        return app

    def _page(self, name: str):
        async def handler(_request: web.Request) -> web.StreamResponse:
            return web.FileResponse(WEB_DIR / name, headers={
                "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        return handler

    async def _index(self, _request: web.Request) -> web.Response:
        return web.Response(text="realtime-mask relay: open the patient or doctor link you were given.\n")

    async def _icon(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB_DIR / "icon.svg", headers={"Content-Type": "image/svg+xml"})

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "consultations": len(self.registry),
                                  "live": sum(1 for c in self.live.values() if c.sessions)})

    async def _create_consultation(self, request: web.Request) -> web.Response:
        secret = self.config.admin_secret
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response(error("forbidden", "admin secret missing or wrong"), status=403)
        try:
            body = await request.json() if request.can_read_body else {}
            ttl = float(body.get("ttl_s", 7200))
            issued = self.registry.create(ttl)
        except (ValueError, TypeError, AttributeError) as e:
            return web.json_response(error("bad_request", f"bad request: {e}"), status=400)
        log.info("consultation %s created, expires in %.0f s", issued.id, ttl)
        return web.json_response(issued.to_dict(self.config.public_url))

    # -- signalling ------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=WS_MAX_FRAME_BYTES)
        await ws.prepare(request)
        self._sockets.add(ws)
        live: LiveConsultation | None = None
        session: PeerSession | None = None
        try:
            join = await self._receive_join(ws)
            room, role = self.registry.admit(join.consultation, join.token)
            if join.role is not None and join.role != role:
                self.registry.release(room.id, role)
                raise AccessError("wrong_page", f"this is a {role} link; open it on the {role} page")
            try:
                live = self.live.get(room.id) or LiveConsultation(room, self.config)
                self.live[room.id] = live
                session = PeerSession(ws, role)
                session.send({"type": "joined", "role": role, "consultation": room.id,
                              "expires_at": room.expires_at,
                              "ice_servers": list(self.config.ice_servers)})
                live.attach(session)
            except BaseException:
                self.registry.release(room.id, role)
                raise
            log.info("consultation %s: %s joined", room.id, role)
            await self._serve_session(ws, live, session)
        except (ProtocolError, AccessError) as e:
            await self._refuse(ws, e.code, str(e))
        except asyncio.TimeoutError:
            await self._refuse(ws, "timeout", "no join message within "
                               f"{self.config.join_timeout_s:.0f} s")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug in one session must not take the server down
            log.exception("session failed")
            await self._refuse(ws, "internal", f"internal error: {type(e).__name__}")
        finally:
            if session is not None and live is not None:
                await session.drain()
                await live.detach(session)
                self.registry.release(live.room.id, session.role)
                log.info("consultation %s: %s left", live.room.id, session.role)
            self._sockets.discard(ws)
            await ws.close()
        return ws

    async def _receive_join(self, ws: web.WebSocketResponse) -> Join:
        msg = await asyncio.wait_for(ws.receive(), self.config.join_timeout_s)
        parsed = self._parse(msg)
        if not isinstance(parsed, Join):
            raise ProtocolError("bad_message", "the first message must be 'join'")
        return parsed

    @staticmethod
    def _parse(msg) -> Join | Offer | Bye | None:
        if msg.type == WSMsgType.TEXT:
            return parse_client_message(msg.data)
        if msg.type == WSMsgType.BINARY:
            return parse_client_message(msg.data)
        if msg.type == WSMsgType.ERROR:
            raise ProtocolError("too_large" if "size" in str(msg.data) else "bad_message",
                                f"socket error: {msg.data}")
        return None                                           # close / closing

    async def _serve_session(self, ws, live: LiveConsultation, session: PeerSession) -> None:
        closed = asyncio.create_task(session.closed.wait())
        try:
            while True:
                receive = asyncio.create_task(ws.receive())
                done, _ = await asyncio.wait({receive, closed}, return_when=asyncio.FIRST_COMPLETED)
                if closed in done:
                    receive.cancel()
                    return
                parsed = self._parse(receive.result())
                if parsed is None or isinstance(parsed, Bye):
                    return
                if isinstance(parsed, Join):
                    raise ProtocolError("bad_message", "already joined")
                await self._answer(live, session, parsed.sdp)
        finally:
            closed.cancel()

    async def _answer(self, live: LiveConsultation, session: PeerSession, sdp: str) -> None:
        if session.pc is not None:
            raise ProtocolError("renegotiation_unsupported",
                                "one offer per connection; reconnect to start over")
        ice = [RTCIceServer(urls=u) for u in self.config.ice_servers]
        pc = session.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice))

        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc.connectionState in ("failed", "closed"):
                session.end()

        pc.on("track", lambda track: live.on_track(session, track))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except OperationError as e:
            raise ProtocolError("unsupported_codec", f"no codec in common ({e}); this relay "
                                "takes VP8 or H.264 video and Opus, PCMU or PCMA audio") from None
        except (ValueError, InvalidStateError, KeyError, IndexError) as e:
            raise ProtocolError("bad_sdp", f"the offer SDP could not be used: {e}") from None
        kinds = [t.kind for t in pc.getTransceivers()]
        for transceiver in pc.getTransceivers():
            emit_video_on_marker(transceiver.receiver)
        if session.role == "patient" and "video" not in kinds:
            raise ProtocolError("bad_sdp", "the patient offer carries no camera video")
        for kind, tracks in live.outgoing_tracks(session.role).items():
            for track in tracks[: kinds.count(kind)]:
                pc.addTrack(track)
        await pc.setLocalDescription(await pc.createAnswer())
        session.send({"type": "answer", "sdp": pc.localDescription.sdp})

    async def _refuse(self, ws: web.WebSocketResponse, code: str, message: str) -> None:
        log.info("refused a client: %s (%s)", message, code)
        if not ws.closed:
            try:
                await ws.send_json(error(code, message))
                await ws.close(code=CLOSE_POLICY, message=code.encode()[:120])
            except (ConnectionError, RuntimeError):
                pass

    # -- housekeeping ----------------------------------------------------
    async def _start(self, _app) -> None:
        self._housekeeping = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        last_log = time.monotonic()
        while True:
            await asyncio.sleep(self.config.stats_interval_s)
            try:
                now = time.monotonic()
                log_now = now - last_log >= self.config.log_interval_s
                if log_now:
                    last_log = now
                for cid, live in list(self.live.items()):
                    self._housekeep(cid, live, now, log_now)
                for cid in self.registry.expired_ids():
                    live = self.live.pop(cid, None)
                    if live is not None:
                        await self._expire(live)
                self.registry.purge()
            except Exception:
                log.exception("housekeeping failed; continuing")

    def _housekeep(self, cid: str, live: LiveConsultation, now: float, log_now: bool) -> None:
        if live.sessions:
            snap = live.snapshot()
            for s in live.sessions.values():
                s.send({"type": "stats", "stats": snap})
            if log_now:
                log.info("consultation %s stats %s", cid, json.dumps(snap))
        elif live.idle_since is not None and now - live.idle_since > self.config.worker_idle_s:
            live.stop_worker()
            del self.live[cid]

    async def _expire(self, live: LiveConsultation) -> None:
        for session in list(live.sessions.values()):
            session.send(error("expired", "this consultation has expired"))
            await asyncio.sleep(0)
            session.end()
        live.stop_worker()
        log.info("consultation %s expired", live.room.id)

    async def _shutdown(self, _app) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutting down")
        for live in self.live.values():
            live.stop_worker()
