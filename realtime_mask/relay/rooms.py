"""Consultations and their capability tokens.

A consultation has an id and two bearer tokens, one per role. The patient token
may publish camera and microphone; the doctor token receives only the masked
video and the patient's audio and publishes the doctor's own camera and
microphone. Tokens carry 192 random bits, are kept only as SHA-256 digests and
are compared in constant time; they expire with the consultation. "Reused" means
presented while that role is already connected: a consultation admits one patient
and one doctor at a time, and the link keeps working for a reconnect after leaving.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable, Literal

Role = Literal["patient", "doctor"]
ROLES: tuple[Role, ...] = ("patient", "doctor")

TOKEN_BYTES = 24          # 192 bits, above the 128-bit floor
ID_BYTES = 9              # ids are not secrets, but unguessable ids cost nothing
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
# Records of ended consultations are kept a while so a late link gets
# "expired" rather than "unknown".
TOMBSTONE_SECONDS = 24 * 3600.0
MAX_TTL_SECONDS = 7 * 24 * 3600.0


class AccessError(Exception):
    """A join refused; `code` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass
class Consultation:
    id: str
    created_at: float
    expires_at: float
    _token_digests: dict[str, bytes] = field(repr=False)
    connected: set[str] = field(default_factory=set)

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def role_for(self, token: str) -> Role | None:
        """The role this token grants, checking every role in constant time."""
        d = _digest(token)
        found: Role | None = None
        for role in ROLES:
            if hmac.compare_digest(d, self._token_digests[role]):
                found = role
        return found


@dataclass(frozen=True)
class IssuedConsultation:
    """What the creator gets back once: the only time the tokens are visible."""
    id: str
    patient_token: str
    doctor_token: str
    expires_at: float

    def links(self, base_url: str) -> dict[str, str]:
        # Tokens go in the URL fragment: browsers never send it to the server
        # (no access-log or Referer leak); the page reads it and sends it over
        # the signalling socket.
        base = base_url.rstrip("/")
        return {
            "patient": f"{base}/patient#c={self.id}&t={self.patient_token}",
            "doctor": f"{base}/doctor#c={self.id}&t={self.doctor_token}",
        }

    def to_dict(self, base_url: str) -> dict:
        return {"id": self.id, "expires_at": self.expires_at, "links": self.links(base_url)}


class ConsultationRegistry:
    """In-memory consultations of one server process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._rooms: dict[str, Consultation] = {}

    def create(self, ttl_s: float) -> IssuedConsultation:
        if not 0 < ttl_s <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl must be between 0 and {MAX_TTL_SECONDS:.0f} s, got {ttl_s}")
        now = self._clock()
        cid = secrets.token_urlsafe(ID_BYTES)
        tokens = {role: secrets.token_urlsafe(TOKEN_BYTES) for role in ROLES}
        self._rooms[cid] = Consultation(
            id=cid, created_at=now, expires_at=now + ttl_s,
            _token_digests={r: _digest(t) for r, t in tokens.items()})
        return IssuedConsultation(cid, tokens["patient"], tokens["doctor"], now + ttl_s)

    def get(self, cid: str) -> Consultation | None:
        return self._rooms.get(cid)

    def admit(self, cid: str, token: str) -> tuple[Consultation, Role]:
        """Check a join; on success the role is marked connected until `release`."""
        if not isinstance(cid, str) or not ID_PATTERN.match(cid):
            raise AccessError("bad_request", "consultation id is missing or malformed")
        if not isinstance(token, str) or not 1 <= len(token) <= 256:
            raise AccessError("bad_token", "token is missing or malformed")
        room = self._rooms.get(cid)
        if room is None:
            raise AccessError("unknown_consultation", f"unknown consultation {cid!r}")
        role = room.role_for(token)
        if role is None:
            raise AccessError("bad_token", "this token does not open this consultation")
        if room.expired(self._clock()):
            raise AccessError("expired", "this consultation link has expired")
        if role in room.connected:
            raise AccessError(
                "role_taken", f"a {role} is already connected to this consultation")
        room.connected.add(role)
        return room, role

    def release(self, cid: str, role: Role) -> None:
        room = self._rooms.get(cid)
        if room is not None:
            room.connected.discard(role)

    def expired_ids(self) -> list[str]:
        now = self._clock()
        return [c.id for c in self._rooms.values() if c.expired(now)]

    def purge(self) -> None:
        """Forget consultations long past expiry (memory stays flat over days)."""
        now = self._clock()
        for cid in [c.id for c in self._rooms.values()
                    if now >= c.expires_at + TOMBSTONE_SECONDS]:
            del self._rooms[cid]

    def __len__(self) -> int:
        return len(self._rooms)


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """'90s', '30m', '2h', '1.5h', '1d' or plain seconds -> seconds (> 0)."""
    t = text.strip().lower()
    scale = _UNITS.get(t[-1:], None)
    number = t[:-1] if scale is not None else t
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        raise ValueError(f"bad duration {text!r}: use e.g. 90s, 30m, 2h") from None
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"bad duration {text!r}: must be positive")
    return seconds
