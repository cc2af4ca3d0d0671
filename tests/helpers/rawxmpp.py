"""A tiny blocking XML-stream client over a raw socket, for checks slixmpp hides or makes awkward:
the exact stream error condition, whether the stream was closed, and readiness probes.

Every read has a deadline; nothing here sleeps to synchronise.
"""

from __future__ import annotations

import hashlib
import select
import socket
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

NS_STREAM = "http://etherx.jabber.org/streams"
NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_COMPONENT_ACCEPT = "jabber:component:accept"


class StreamClosed(Exception):
    """The peer closed the TCP connection or the XML stream."""


class RawStream:
    """One TCP connection carrying an XML stream, parsed incrementally."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.header: ET.Element | None = None
        self.closed = False  # TCP EOF / reset seen
        self.stream_ended = False  # </stream:stream> seen
        self.received = bytearray()
        self._pending: list[ET.Element] = []

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "RawStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: str | bytes) -> bool:
        """Send bytes; False if the peer has already gone away."""
        if isinstance(data, str):
            data = data.encode()
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def _feed(self, data: bytes) -> None:
        self.received += data
        self.parser.feed(data)
        for event, elem in self.parser.read_events():
            if event == "start":
                if self.depth == 0:
                    self.header = elem
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth == 0:
                    self.stream_ended = True
                elif self.depth == 1:
                    self._pending.append(elem)
                    if self.header is not None:
                        # the header keeps no children; the element itself stays intact
                        try:
                            self.header.remove(elem)
                        except ValueError:
                            pass

    def _read_some(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out waiting for data; received so far: %r" % bytes(self.received))
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("timed out waiting for data; received so far: %r" % bytes(self.received))
        except ConnectionError:
            data = b""
        if not data:
            self.closed = True
            raise StreamClosed("connection closed; received: %r" % bytes(self.received))
        self._feed(data)

    def data_ready(self, wait: float) -> bool:
        """True if bytes can be read within `wait` seconds (used only for 'did an error already arrive')."""
        if self._pending:
            return True
        r, _, _ = select.select([self.sock], [], [], wait)
        return bool(r)

    def read_header(self, timeout: float = 10.0) -> ET.Element:
        deadline = time.monotonic() + timeout
        while self.header is None:
            self._read_some(deadline)
        return self.header

    def next_element(self, timeout: float = 10.0) -> ET.Element:
        """The next top-level element. Raises StreamClosed at end of stream or EOF."""
        deadline = time.monotonic() + timeout
        while not self._pending:
            if self.stream_ended:
                raise StreamClosed("stream ended; received: %r" % bytes(self.received))
            self._read_some(deadline)
        return self._pending.pop(0)

    def wait_closed(self, timeout: float = 10.0) -> None:
        """Wait for </stream:stream> or TCP EOF, ignoring further elements."""
        deadline = time.monotonic() + timeout
        while not (self.closed or self.stream_ended):
            try:
                self._read_some(deadline)
            except StreamClosed:
                return


def stream_error_condition(elem: ET.Element) -> str | None:
    """The defined condition of a <stream:error/>, or None if `elem` is not a stream error."""
    if elem.tag != f"{{{NS_STREAM}}}error":
        return None
    for child in elem:
        if child.tag.startswith(f"{{{NS_STREAM_ERRORS}}}") and not child.tag.endswith("}text"):
            return child.tag.split("}", 1)[1]
    return "(no condition)"


@dataclass
class ComponentAttempt:
    header: dict = field(default_factory=dict)
    handshake_ok: bool = False
    stream_error: str | None = None
    closed_after_error: bool = False
    elements: list = field(default_factory=list)
    raw: bytes = b""


def component_handshake(
    host: str,
    port: int,
    name: str,
    secret: str,
    timeout: float = 10.0,
    immediate_error_wait: float = 0.5,
) -> ComponentAttempt:
    """Open a jabber:component:accept stream as `name`, do the XEP-0114 handshake with `secret`,
    and report what the server said: handshake accepted, or which stream error, and whether it
    closed the stream afterwards.

    A server may refuse an unknown name right after the stream header, before any handshake.
    We give it `immediate_error_wait` seconds to have done so before sending our handshake; if the
    error comes later we still see it.
    """
    res = ComponentAttempt()
    with RawStream(host, port, timeout) as s:
        s.send(
            "<?xml version='1.0'?>"
            f"<stream:stream xmlns:stream='{NS_STREAM}' xmlns='{NS_COMPONENT_ACCEPT}' to='{name}'>"
        )
        try:
            header = s.read_header(timeout)
        except StreamClosed:
            res.raw = bytes(s.received)
            return res
        res.header = dict(header.attrib)
        deadline = time.monotonic() + timeout
        if not s.data_ready(immediate_error_wait):
            sid = header.get("id", "")
            digest = hashlib.sha1((sid + secret).encode()).hexdigest()
            s.send(f"<handshake>{digest}</handshake>")
        try:
            while True:
                elem = s.next_element(max(0.1, deadline - time.monotonic()))
                res.elements.append(elem)
                cond = stream_error_condition(elem)
                if cond is not None:
                    res.stream_error = cond
                    s.wait_closed(max(0.1, deadline - time.monotonic()))
                    res.closed_after_error = s.closed or s.stream_ended
                    break
                if elem.tag in ("handshake", f"{{{NS_COMPONENT_ACCEPT}}}handshake"):
                    res.handshake_ok = True
                    break
        except StreamClosed:
            pass
        res.raw = bytes(s.received)
    return res


def wait_c2s_ready(host: str, port: int, domain: str, timeout: float = 20.0) -> None:
    """Wait until a client stream to `domain` at host:port gets <stream:features/>.

    jabberd2's c2s opens its port once it is bound at the router, but it answers `host-gone`
    until it has seen the sm's presence advertisement for the domain. We retry on exactly that
    condition (or a connection refused) until the deadline.
    """
    deadline = time.monotonic() + timeout
    last = "nothing yet"
    while True:
        try:
            with RawStream(host, port, timeout=max(0.1, deadline - time.monotonic())) as s:
                s.send(
                    "<?xml version='1.0'?>"
                    f"<stream:stream xmlns:stream='{NS_STREAM}' xmlns='jabber:client' to='{domain}' version='1.0'>"
                )
                s.read_header(max(0.1, deadline - time.monotonic()))
                elem = s.next_element(max(0.1, deadline - time.monotonic()))
                if elem.tag == f"{{{NS_STREAM}}}features":
                    s.send("</stream:stream>")
                    return
                last = f"{elem.tag} {stream_error_condition(elem)}: {bytes(s.received)!r}"
        except (OSError, StreamClosed, TimeoutError) as e:
            last = repr(e)
        if time.monotonic() > deadline:
            raise TimeoutError(f"c2s at {host}:{port} not ready for {domain} after {timeout}s: {last}")
        time.sleep(0.1)
