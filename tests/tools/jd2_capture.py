#!/usr/bin/env python3
"""Throw-away tool: capture what jabberd2's sm and c2s (and an XEP-0114 component) send to a router.

    python3 tests/tools/jd2_capture.py [--out FILE] [--router starling|jabberd2]

Starts jabberd2-router (or starling-router with --router starling) on port R, a logging TCP proxy on
port P, and jabberd2-sm and jabberd2-c2s configured to connect to P. Then two slixmpp clients register,
log in and exchange messages, and an XEP-0114 component connects, gets a message, answers, and tries a
spoofed `from`. Every chunk crossing the proxy is written to FILE with a timestamp, the connection
number and the direction (C->R component to router, R->C router to component), as raw bytes.

Not a test: it exists to produce tests/jabberd2/PROTOCOL-CAPTURE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import jabberd2 as jd2  # noqa: E402
from helpers.ports import LOOPBACK, free_port  # noqa: E402
from helpers.process import ProcessRegistry  # noqa: E402
from helpers.starling import start_router  # noqa: E402
from helpers.xmpp import Component, chat_client, register_account, run_async  # noqa: E402


class Proxy:
    def __init__(self, listen_port: int, upstream_port: int, out) -> None:
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.out = out
        self.t0 = time.monotonic()
        self.n = 0
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()

    def log(self, conn: int, direction: str, data: bytes) -> None:
        with self.lock:
            self.out.write(f"[{time.monotonic() - self.t0:8.3f}] #{conn} {direction} {data.decode('utf-8', 'replace')}\n")
            self.out.flush()

    async def pump(self, conn, direction, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    self.log(conn, direction, b"<<EOF>>")
                    break
                self.log(conn, direction, data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError) as e:
            self.log(conn, direction, f"<<{e!r}>>".encode())
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def handle(self, creader, cwriter):
        self.n += 1
        conn = self.n
        self.log(conn, "--", b"<<connect>>")
        rreader, rwriter = await asyncio.open_connection(LOOPBACK, self.upstream_port)
        await asyncio.gather(
            self.pump(conn, "C->R", creader, rwriter),
            self.pump(conn, "R->C", rreader, cwriter),
        )

    def run(self):
        asyncio.set_event_loop(self.loop)

        async def main():
            server = await asyncio.start_server(self.handle, LOOPBACK, self.listen_port)
            self.ready.set()
            async with server:
                await server.serve_forever()

        try:
            self.loop.run_until_complete(main())
        except RuntimeError:
            pass

    def start(self):
        threading.Thread(target=self.run, daemon=True).start()
        self.ready.wait(5)


async def scenario(suite: jd2.Jabberd2, router_port: int, comp_secret: str, out):
    host, port, dom = suite.c2s_host, suite.c2s_port, suite.domain
    out.write("\n==== scenario: register alice ====\n")
    await register_account(host, port, f"alice@{dom}", "alice-pw")
    out.write("\n==== scenario: register bob ====\n")
    await register_account(host, port, f"bob@{dom}", "bob-pw")
    out.write("\n==== scenario: login alice, login bob ====\n")
    async with chat_client(host, port, f"alice@{dom}/laptop", "alice-pw") as a, chat_client(
        host, port, f"bob@{dom}/phone", "bob-pw"
    ) as b:
        out.write("\n==== scenario: alice -> bob (bare), bob -> alice (full) ====\n")
        a.send_chat(f"bob@{dom}", "hello bob", msg_id="m1")
        await b.wait_message(lambda m: m["body"] == "hello bob")
        b.send_chat(a.boundjid.full, "hello alice", msg_id="m2")
        await a.wait_message(lambda m: m["body"] == "hello alice")

        out.write("\n==== scenario: XEP-0114 component echo.localhost connects ====\n")

        def echo(comp, msg):
            if msg["type"] != "error" and msg["body"]:
                comp.send_msg(mfrom=msg["to"].full, mto=msg["from"].full, body="echo: " + msg["body"])

        comp = Component("echo.localhost", comp_secret, LOOPBACK, router_port, on_message=echo, normalize_ns=True)
        await comp.start()
        out.write("\n==== scenario: alice -> echo.localhost, echo answers ====\n")
        a.send_chat("bot@echo.localhost", "ping", msg_id="m3")
        await a.wait_message(lambda m: m["body"] == "echo: ping")
        out.write("\n==== scenario: component sends with spoofed from ====\n")
        comp.send_msg(mfrom="x@spoofed.example", mto=f"bob@{dom}", body="spoof", msg_id="spoof1")
        err = await comp.wait_message(lambda m: m["type"] == "error", timeout=5)
        out.write(f"\n(component got: {err})\n")
        await comp.close()
        out.write("\n==== scenario: logout ====\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/jd2-capture.log")
    ap.add_argument("--router", choices=["jabberd2", "starling"], default="jabberd2")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--verbose", action="store_true", help="slixmpp debug log on stderr")
    args = ap.parse_args()
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG)

    work = Path(tempfile.mkdtemp(prefix="jd2-capture-"))
    reg = ProcessRegistry()
    upstream = free_port()
    proxy_port = free_port()
    comp_secret = "component-secret"
    with open(args.out, "w") as out:
        try:
            suite = jd2.Jabberd2(work, reg, router_port=upstream, router_password="secret", component_secret=comp_secret)
            if args.router == "jabberd2":
                suite.start_router()
            else:
                start_router(
                    work,
                    reg,
                    {
                        "listen": [f"{LOOPBACK}:{upstream}"],
                        "jabberd2_compat": True,
                        "users": {"jabberd": {"password": "secret", "bind": ["*"], "default_route": True, "log": True}},
                        "components": {"echo.localhost": {"secret": comp_secret}},
                    },
                )
            proxy = Proxy(proxy_port, upstream, out)
            proxy.start()
            out.write(f"# router on {upstream}, proxy on {proxy_port}; sm connects first (#1), then c2s (#2)\n")
            suite.router_port = proxy_port  # sm and c2s connect through the proxy
            out.write("\n==== start sm ====\n")
            suite.start_sm()
            out.write("\n==== start c2s ====\n")
            suite.start_c2s()
            run_async(scenario(suite, proxy_port, comp_secret, out), timeout=60)
            out.write("\n==== stop c2s, sm ====\n")
            for p in (suite.c2s, suite.sm):
                p.stop()
            time.sleep(0.5)  # let the proxy log the last bytes (throw-away tool, not a test)
        finally:
            reg.stop_all()
            if args.keep:
                print("work dir:", work)
    print("capture written to", args.out)


if __name__ == "__main__":
    main()
