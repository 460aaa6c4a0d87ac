"""`realtime-mask serve`: the live consultation relay (pages, signalling, WebRTC)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import ssl
import sys
from pathlib import Path

from ..cli import UsageError


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="run the live consultation relay (patient -> masked avatar -> doctor)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument("--cert", type=Path, help="TLS certificate (PEM): serve HTTPS/WSS")
    p.add_argument("--key", type=Path, help="TLS private key (PEM) for --cert")
    p.add_argument("--public-url", help="base URL printed in links (default from host/port)")
    p.add_argument("--ttl", default="2h", help="lifetime of the demo consultation (default 2h)")
    p.add_argument("--stun", action="append", default=[], metavar="URL",
                   help="STUN server URL (e.g. stun:stun.example.org:3478) for the relay and "
                        "the pages (repeatable; default none: host candidates, enough on a LAN)")
    p.add_argument("--state-file", type=Path,
                   help="where to write URL + admin secret for `room new` (default in ~/.cache)")
    p.add_argument("--log-interval", type=float, default=10.0, help="seconds between stats log lines")
    p.add_argument("--bench-stamp", action="store_true",
                   help="BENCHMARK ONLY: copy the input frame-number barcode into the output frame")
    p.add_argument("--bench-passthrough", action="store_true",
                   help="BENCHMARK ONLY (loopback only): forward the camera frame unmasked")


def _ssl_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise UsageError("--cert and --key go together")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise UsageError(f"cannot load TLS certificate/key: {e}") from e
    return ctx


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def plain_http_warning(host: str, tls: bool) -> str | None:
    """What to tell whoever deploys a relay that other machines reach over
    plain HTTP: their browsers keep the camera from such a page."""
    if tls or _is_loopback(host):
        return None
    return (f"serving plain HTTP on {host}: browsers on other machines open the camera "
            "only on HTTPS pages; pass --cert/--key (and --public-url with this "
            "machine's name or address)")


def run(args) -> int:
    from aiohttp import web

    from ..relay import RelayConfig, RelayServer
    from ..relay.rooms import parse_duration
    from ..relay.state import write_state

    try:
        ttl = parse_duration(args.ttl)
    except ValueError as e:
        raise UsageError(str(e)) from e
    if not 0 <= args.port <= 65535:
        raise UsageError(f"port must be 0..65535, got {args.port}")
    if args.bench_passthrough and not _is_loopback(args.host):
        raise UsageError("--bench-passthrough sends the raw camera; it is allowed on loopback only")
    for url in args.stun:
        if not url.startswith(("stun:", "stuns:")):
            raise UsageError(f"--stun wants a stun: URL, got {url!r}")
    ctx = _ssl_context(args.cert, args.key)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    config = RelayConfig(
        mode="passthrough" if args.bench_passthrough else "mask",
        bench_stamp=args.bench_stamp, log_interval_s=args.log_interval,
        ice_servers=list(args.stun), admin_secret=secrets.token_urlsafe(32))
    warning = plain_http_warning(args.host, ctx is not None)
    if warning:
        logging.warning(warning)
    if args.bench_passthrough or args.bench_stamp:
        logging.warning("BENCHMARK MODE: %s", "pass-through (camera NOT masked)"
                        if args.bench_passthrough else "frame-number barcode in output")
    if config.mode == "mask":
        # A first consultation must not wait minutes for the eye calibration and
        # the avatar pool: build what is missing before listening.
        from ..caches import build_derived_caches
        from ..face_model.assets import ModelNotFound, load_face_model

        print("loading the face model and its derived caches "
              "(built on a machine's first start: a few minutes)", flush=True)
        try:
            build_derived_caches(load_face_model())
        except ModelNotFound as e:
            raise UsageError(str(e)) from e
    server = RelayServer(config)

    async def main() -> None:
        runner = web.AppRunner(server.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, ssl_context=ctx)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from e
        port = site._server.sockets[0].getsockname()[1]
        scheme = "https" if ctx else "http"
        host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
        config.public_url = (args.public_url or f"{scheme}://{host}:{port}").rstrip("/")
        try:
            state = write_state(config.public_url, config.admin_secret, args.state_file)
        except OSError as e:
            await runner.cleanup()
            raise UsageError(f"cannot write the state file for `room new`: {e}") from e
        demo = server.registry.create(ttl)
        links = demo.links(config.public_url)
        print(f"realtime-mask relay listening on {config.public_url}", flush=True)
        print(f"demo consultation {demo.id} (expires in {args.ttl})")
        print(f"  patient: {links['patient']}")
        print(f"  doctor:  {links['doctor']}", flush=True)
        print(f"more consultations: realtime-mask room new --state-file {state}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    return 0
