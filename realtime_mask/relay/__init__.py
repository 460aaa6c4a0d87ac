"""Live consultation relay: patient's browser -> masked avatar -> doctor's browser.

Why aiohttp for signalling rather than the `websockets` library: aiortc already
depends on aiohttp, and one aiohttp application serves the pages, the admin
endpoint and the WebSocket on one port, one TLS context and one event loop, with
built-in heartbeats (a vanished peer is noticed in ~10 s) and a frame size cap.
With `websockets` a second HTTP server (or its limited process_request hook) would
be needed for the pages.

Modules: rooms (consultations, tokens), protocol (message validation), media
(bounded frame hand-over, outgoing tracks), worker (masking thread), stats,
barcode (benchmark-only), server (the aiohttp app).
"""

from .rooms import AccessError, ConsultationRegistry, IssuedConsultation
from .server import RelayConfig, RelayServer

__all__ = ["AccessError", "ConsultationRegistry", "IssuedConsultation",
           "RelayConfig", "RelayServer"]
