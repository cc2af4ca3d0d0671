"""A blocking client of jabberd2's component protocol (the router's native protocol), written from
the protocol description rather than from Starling's code: SCRAM-SHA-256 (RFC 7677) or PLAIN,
stream restart, bind, routes. Used to check the router's answers byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
import xml.etree.ElementTree as ET

from .rawxmpp import NS_STREAM, RawStream, StreamClosed, stream_error_condition

NS_COMPONENT = "http://jabberd.jabberstudio.org/ns/component/1.0"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_CLIENT = "jabber:client"

HEADER = f"<?xml version='1.0'?><stream:stream xmlns:stream='{NS_STREAM}' version='1.0'>"


class AuthFailed(Exception):
    pass


def _scram_sha256(user: str, password: str, exchange) -> None:
    """Runs a SCRAM-SHA-256 exchange through `exchange(data) -> reply`, checking the server."""
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user},r={nonce}"
    server_first = exchange(("n,," + first_bare).encode()).decode()
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    if not fields["r"].startswith(nonce):
        raise AuthFailed("server nonce does not extend ours")
    salt = base64.b64decode(fields["s"])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_bare = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_final = exchange(f"{final_bare},p={base64.b64encode(proof).decode()}".encode())
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    expected = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    if server_final.decode() != "v=" + base64.b64encode(expected).decode():
        raise AuthFailed(f"bad server signature: {server_final!r}")


class Component(RawStream):
    """One authenticated connection to a router speaking the native component protocol."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        super().__init__(host, port, timeout)
        self.timeout = timeout
        self.features: ET.Element | None = None

    def restart(self) -> None:
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.header = None
        self.stream_ended = False
        self._pending = []

    def open(self) -> ET.Element:
        """Sends a stream header; returns the router's features."""
        self.restart()
        self.send(HEADER)
        self.read_header(self.timeout)
        self.features = self.next_element(self.timeout)
        return self.features

    def mechanisms(self) -> list[str]:
        assert self.features is not None
        mechs = self.features.find(f"{{{NS_SASL}}}mechanisms")
        return [] if mechs is None else [m.text or "" for m in mechs]

    def _sasl_reply(self) -> ET.Element:
        el = self.next_element(self.timeout)
        if stream_error_condition(el):
            raise AuthFailed("stream error " + str(stream_error_condition(el)))
        return el

    def authenticate(self, user: str, password: str, mechanism: str = "SCRAM-SHA-256") -> None:
        """SASL, then the stream restart; raises AuthFailed with the failure condition."""
        if mechanism == "PLAIN":
            data = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{data}</auth>")
            reply = self._sasl_reply()
        else:
            state = {"first": True, "reply": None}

            def exchange(data: bytes) -> bytes:
                b64 = base64.b64encode(data).decode()
                if state["first"]:
                    self.send(f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-256'>{b64}</auth>")
                    state["first"] = False
                else:
                    self.send(f"<response xmlns='{NS_SASL}'>{b64}</response>")
                el = self._sasl_reply()
                state["reply"] = el
                if el.tag not in (f"{{{NS_SASL}}}challenge", f"{{{NS_SASL}}}success"):
                    raise AuthFailed(_failure(el))
                return base64.b64decode(el.text or "")

            _scram_sha256(user, password, exchange)
            reply = state["reply"]
        if reply.tag != f"{{{NS_SASL}}}success":
            raise AuthFailed(_failure(reply))
        self.open()

    def bind(self, name: str, multi: bool = False, default: bool = False, log: bool = False) -> str | None:
        """Binds a name; returns None on success or the router's error code."""
        attrs = f" name='{name}'" + (" multi='to'" if multi else "")
        children = ("<default/>" if default else "") + ("<log/>" if log else "")
        self.send(f"<bind xmlns='{NS_COMPONENT}'{attrs}>{children}</bind>")
        reply = self.expect(f"{{{NS_COMPONENT}}}bind")
        return reply.get("error")

    def expect(self, tag: str, timeout: float | None = None) -> ET.Element:
        """The next element with `tag`, skipping advertisements (which arrive at any time)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            el = self.next_element(max(0.05, deadline - time.monotonic()))
            if el.tag == tag:
                return el
            if el.tag == f"{{{NS_COMPONENT}}}presence":
                continue
            raise AssertionError(f"expected {tag}, got {ET.tostring(el)!r}")

    def route(self, to: str, frm: str, payload: str = "", **attrs: str) -> None:
        extra = "".join(f" {k}='{v}'" for k, v in attrs.items())
        self.send(f"<route xmlns='{NS_COMPONENT}' to='{to}' from='{frm}'{extra}>{payload}</route>")

    def next_route(self, timeout: float | None = None) -> ET.Element:
        return self.expect(f"{{{NS_COMPONENT}}}route", timeout)

    def routes_until_quiet(self, count: int, timeout: float | None = None) -> list[ET.Element]:
        """Exactly `count` routes (fails on timeout)."""
        return [self.next_route(timeout) for _ in range(count)]


def _failure(el: ET.Element) -> str:
    if stream_error_condition(el):
        return "stream error " + str(stream_error_condition(el))
    return next((child.tag.split("}", 1)[1] for child in el), el.tag)


def connect(host: str, port: int, user: str, password: str, *binds: str, multi: bool = False) -> Component:
    """An authenticated component that bound `binds` (each must succeed)."""
    comp = Component(host, port)
    comp.open()
    comp.authenticate(user, password)
    for name in binds:
        error = comp.bind(name, multi=multi)
        if error is not None:
            raise AssertionError(f"bind {name} refused with {error}")
    return comp


def message(to: str, frm: str, body: str = "hi", id: str = "m1") -> str:
    return f"<message xmlns='{NS_CLIENT}' to='{to}' from='{frm}' id='{id}'><body>{body}</body></message>"


__all__ = ["Component", "AuthFailed", "StreamClosed", "connect", "message", "NS_COMPONENT", "NS_CLIENT"]
