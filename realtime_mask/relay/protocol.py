"""Signalling messages: one JSON object per WebSocket text message.

Client -> server:
  {"type": "join",  "consultation": ID, "token": TOKEN[, "role": R]}  first, once;
                                          R (optional) is the page's role, checked against the token
  {"type": "offer", "sdp": SDP}                               after "joined", once
  {"type": "bye"}                                             leaving on purpose
Server -> client:
  {"type": "joined", "role": "patient"|"doctor", "consultation": ID, "expires_at": T,
   "ice_servers": [URL, ...]}                                 STUN for the page's ICE
  {"type": "answer", "sdp": SDP}
  {"type": "peer", "role": ..., "state": "connected"|"left"}  the other side
  {"type": "params", "params": MaskParams.to_dict()}          doctor only, per frame
  {"type": "stats", "stats": {...}}                           about once a second
  {"type": "error", "code": CODE, "message": TEXT}            then the server closes
Every client message is checked here (size, JSON, type, fields); any violation is
a ProtocolError whose text goes back to that client alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_MESSAGE_BYTES = 64 * 1024      # an SDP offer is ~5-15 kB
MAX_SDP_CHARS = 60 * 1024


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Join:
    consultation: str
    token: str
    role: str | None = None


@dataclass(frozen=True)
class Offer:
    sdp: str


@dataclass(frozen=True)
class Bye:
    pass


ClientMessage = Join | Offer | Bye


def _string_field(msg: dict, name: str, limit: int) -> str:
    value = msg.get(name)
    if not isinstance(value, str) or not value:
        raise ProtocolError("bad_message", f"'{msg['type']}' needs a non-empty string '{name}'")
    if len(value) > limit:
        raise ProtocolError("too_large", f"'{name}' is longer than {limit} characters")
    return value


def parse_client_message(raw: str | bytes) -> ClientMessage:
    if isinstance(raw, bytes):
        raise ProtocolError("bad_message", "binary messages are not accepted; send JSON text")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        msg = json.loads(raw)
    except ValueError as e:
        raise ProtocolError("bad_json", f"message is not valid JSON: {e}") from None
    except RecursionError:
        raise ProtocolError("bad_json", "message is nested too deeply") from None
    if not isinstance(msg, dict):
        raise ProtocolError("bad_message", "message must be a JSON object")
    kind = msg.get("type")
    if kind == "join":
        role = msg.get("role")
        if role not in (None, "patient", "doctor"):
            raise ProtocolError("bad_message", "'role' must be 'patient' or 'doctor'")
        return Join(_string_field(msg, "consultation", 64), _string_field(msg, "token", 256), role)
    if kind == "offer":
        return Offer(_string_field(msg, "sdp", MAX_SDP_CHARS))
    if kind == "bye":
        return Bye()
    raise ProtocolError("bad_message", f"unknown message type {kind!r}")


def error(code: str, message: str) -> dict:
    return {"type": "error", "code": code, "message": message}
