"""A light asyncio XMPP client over raw XML, for tests that need hundreds of clients at once or a
client that misbehaves on purpose (floods, oversized stanzas, never reads). slixmpp is too heavy
for 200 concurrent logins on two cores, and too polite for the bad actors.

One `AioClient` is one TCP connection: STARTTLS (the certificate is not checked), in-band
registration (XEP-0077), SASL SCRAM-SHA-256, resource binding; afterwards a reader task collects every
top-level element, and tests wait for the one they expect with a deadline. Nothing sleeps to
synchronise.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import secrets
import socket
import xml.etree.ElementTree as ET
from typing import Callable, Optional
from xml.sax.saxutils import escape, quoteattr

from .c2s_stack import NS_BIND, NS_REGISTER, NS_SASL, NS_TLS, no_verify
from .rawxmpp import NS_STREAM, stream_error_condition

NS_CLIENT = "jabber:client"
NS_PING = "urn:xmpp:ping"
DEFAULT_TIMEOUT = 15.0
TCP_ESTABLISHED = 1  # tcpi_state, linux/tcp_states.h

_ids = itertools.count(1)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def tag(name: str, ns: str = NS_CLIENT) -> str:
    return f"{{{ns}}}{name}"


class ClientError(AssertionError):
    """The server did not answer as expected (or not in time)."""


class AioClient:
    """One client connection. Create with `await AioClient.connect(...)`, or `login`/`register`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, domain: str) -> None:
        self.reader = reader
        self.writer = writer
        self.domain = domain
        self.jid: Optional[str] = None
        self.sock: Optional[socket.socket] = None
        self.received: list[ET.Element] = []  # not yet taken by a wait
        self.stream_error: Optional[str] = None
        self.ended = False  # </stream:stream> or EOF
        self._changed = asyncio.Event()
        self._task: Optional[asyncio.Task] = None
        self._restart_parser()

    # -- connection and negotiation ------------------------------------------------------------

    @classmethod
    async def connect(cls, host: str, port: int, domain: str, *, rcvbuf: Optional[int] = None,
                      timeout: float = DEFAULT_TIMEOUT) -> "AioClient":
        """Connects and upgrades with STARTTLS. `rcvbuf` shrinks the socket's receive buffer
        (set before connecting, so the window stays small): a client that stops reading then
        backs up into the server quickly."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, port)), timeout)
            reader, writer = await asyncio.open_connection(sock=sock)
        except BaseException:
            sock.close()
            raise
        client = cls(reader, writer, domain)
        client.sock = sock
        try:
            features = await client._open_stream(timeout)
            if features.find(tag("starttls", NS_TLS)) is None:
                raise ClientError(f"no STARTTLS offered: {ET.tostring(features)!r}")
            client.send(f"<starttls xmlns='{NS_TLS}'/>")
            proceed = await client._next(timeout)
            if proceed.tag != tag("proceed", NS_TLS):
                raise ClientError(f"STARTTLS refused: {ET.tostring(proceed)!r}")
            await asyncio.wait_for(writer.start_tls(no_verify(), server_hostname=domain), timeout)
            client.features = await client._open_stream(timeout)
        except BaseException:
            client.abort()
            raise
        return client

    def _restart_parser(self) -> None:
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._depth = 0
        self._header_seen = False

    async def _open_stream(self, timeout: float) -> ET.Element:
        self._restart_parser()
        self.send(f"<?xml version='1.0'?><stream:stream xmlns:stream='{NS_STREAM}' xmlns='{NS_CLIENT}' "
                  f"to='{self.domain}' version='1.0'>")
        features = await self._next(timeout)
        if features.tag != tag("features", NS_STREAM):
            raise ClientError(f"expected stream features, got {ET.tostring(features)!r}")
        return features

    def _feed(self, data: bytes) -> None:
        self._parser.feed(data)
        for event, elem in self._parser.read_events():
            if event == "start":
                self._depth += 1
                self._header_seen = True
            else:
                self._depth -= 1
                if self._depth == 0:
                    self.ended = True
                elif self._depth == 1:
                    if self.stream_error is None:
                        self.stream_error = stream_error_condition(elem)
                    self.received.append(elem)
        self._changed.set()

    async def _next(self, timeout: float) -> ET.Element:
        """During negotiation (no reader task): the next top-level element."""

        async def read() -> ET.Element:
            while not self.received:
                data = await self.reader.read(65536)
                if not data:
                    raise ClientError(f"connection closed during negotiation ({self.stream_error})")
                self._feed(data)
            return self.received.pop(0)

        try:
            return await asyncio.wait_for(read(), timeout)
        except asyncio.TimeoutError:
            raise ClientError(f"no answer within {timeout}s during negotiation") from None

    async def register(self, user: str, password: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """XEP-0077 registration before authentication (on this secured stream)."""
        iq_id = f"reg{next(_ids)}"
        self.send(f"<iq type='set' id='{iq_id}'><query xmlns='{NS_REGISTER}'>"
                  f"<username>{escape(user)}</username><password>{escape(password)}</password></query></iq>")
        answer = await self._next(timeout)
        if answer.get("type") != "result" or answer.get("id") != iq_id:
            raise ClientError(f"registration of {user} refused: {ET.tostring(answer)!r}")

    async def _scram_sha256(self, user: str, password: str, timeout: float) -> None:
        """SASL SCRAM-SHA-256 without channel binding (RFC 5802, RFC 7677). The client does the
        PBKDF2 work, so hundreds of logins cost the server little."""
        first_bare = f"n={user},r={secrets.token_hex(12)}"
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-256'>{_b64(f'n,,{first_bare}'.encode())}</auth>")
        challenge = await self._next(timeout)
        if challenge.tag != tag("challenge", NS_SASL):
            raise ClientError(f"SCRAM refused for {user}: {ET.tostring(challenge)!r}")
        server_first = base64.b64decode(challenge.text or "").decode()
        fields = dict(part.split("=", 1) for part in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        without_proof = f"c=biws,r={fields['r']}"
        auth_message = f"{first_bare},{server_first},{without_proof}".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.send(f"<response xmlns='{NS_SASL}'>{_b64(f'{without_proof},p={_b64(proof)}'.encode())}</response>")
        answer = await self._next(timeout)
        if answer.tag != tag("success", NS_SASL):
            raise ClientError(f"authentication of {user} failed: {ET.tostring(answer)!r}")

    async def authenticate(self, user: str, password: str, resource: str,
                           timeout: float = DEFAULT_TIMEOUT) -> str:
        """SCRAM-SHA-256, stream restart, bind; starts the reader task. Returns the full JID."""
        await self._scram_sha256(user, password, timeout)
        await self._open_stream(timeout)
        self.send(f"<iq type='set' id='bind'><bind xmlns='{NS_BIND}'><resource>{escape(resource)}</resource>"
                  f"</bind></iq>")
        bound = await self._next(timeout)
        jid = bound.findtext(f"{tag('bind', NS_BIND)}/{tag('jid', NS_BIND)}")
        if bound.get("type") != "result" or not jid:
            raise ClientError(f"bind of {user}/{resource} failed: {ET.tostring(bound)!r}")
        self.jid = jid
        self._task = asyncio.create_task(self._read_loop())
        return jid

    @classmethod
    async def login(cls, host: str, port: int, domain: str, user: str, password: str, resource: str = "r",
                    *, presence: bool = True, rcvbuf: Optional[int] = None,
                    timeout: float = DEFAULT_TIMEOUT) -> "AioClient":
        """Connects, authenticates and binds; with `presence`, sends initial presence and waits
        until the sm has handled it (a ping answered after it)."""
        client = await cls.connect(host, port, domain, rcvbuf=rcvbuf, timeout=timeout)
        try:
            await client.authenticate(user, password, resource, timeout)
            if presence:
                client.send("<presence/>")
                await client.ping(timeout)
        except BaseException:
            client.abort()
            raise
        return client

    # -- after negotiation -------------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self._feed(data)
        except (ConnectionError, OSError, ET.ParseError):
            pass
        finally:
            self.ended = True
            self._changed.set()

    @property
    def bare(self) -> str:
        return (self.jid or "").split("/", 1)[0]

    def send(self, data: str | bytes) -> None:
        if isinstance(data, str):
            data = data.encode()
        if not self.writer.is_closing():
            self.writer.write(data)

    def message(self, to: str, body: str, msg_id: str, typ: str = "chat") -> None:
        self.send(f"<message to={quoteattr(to)} type='{typ}' id={quoteattr(msg_id)}>"
                  f"<body>{escape(body)}</body></message>")

    def presence(self, to: Optional[str] = None, typ: Optional[str] = None) -> None:
        attrs = (f" to={quoteattr(to)}" if to else "") + (f" type='{typ}'" if typ else "")
        self.send(f"<presence{attrs}/>")

    async def wait(self, predicate: Callable[[ET.Element], bool], timeout: float = DEFAULT_TIMEOUT,
                   what: str = "a stanza") -> ET.Element:
        """The first received element matching `predicate` (taken out of `received`)."""

        async def find() -> ET.Element:
            while True:
                for i, el in enumerate(self.received):
                    if predicate(el):
                        return self.received.pop(i)
                if self.ended:
                    raise ClientError(f"{self.jid}: stream ended ({self.stream_error}) while waiting for {what}")
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except asyncio.TimeoutError:
            seen = "\n".join(ET.tostring(e).decode() for e in self.received[-20:]) or "(nothing)"
            raise ClientError(f"{self.jid}: timed out after {timeout}s waiting for {what}; last unmatched:\n{seen}") from None

    async def wait_message(self, msg_id: str, timeout: float = DEFAULT_TIMEOUT) -> ET.Element:
        return await self.wait(lambda e: e.tag == tag("message") and e.get("id") == msg_id, timeout,
                               f"message {msg_id}")

    async def wait_presence(self, sender: str, typ: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT) -> ET.Element:
        """Presence of type `typ` (None: available) from `sender` (a bare JID matches any resource)."""

        def match(e: ET.Element) -> bool:
            frm = e.get("from", "")
            return (e.tag == tag("presence") and e.get("type") == typ
                    and (frm == sender or frm.split("/", 1)[0] == sender))

        return await self.wait(match, timeout, f"presence type={typ} from {sender}")

    async def iq(self, payload: str, typ: str = "get", to: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT) -> ET.Element:
        """Sends an IQ and returns its answer (result or error)."""
        iq_id = f"iq{next(_ids)}"
        attrs = f" to={quoteattr(to)}" if to else ""
        self.send(f"<iq type='{typ}' id='{iq_id}'{attrs}>{payload}</iq>")
        return await self.wait(lambda e: e.tag == tag("iq") and e.get("id") == iq_id
                               and e.get("type") in ("result", "error"), timeout, f"answer to iq {iq_id}")

    async def ping(self, timeout: float = DEFAULT_TIMEOUT) -> ET.Element:
        """XEP-0199 ping to the domain: everything sent before it has been handled by the sm."""
        return await self.iq(f"<ping xmlns='{NS_PING}'/>", to=self.domain, timeout=timeout)

    async def wait_ended(self, timeout: float = DEFAULT_TIMEOUT) -> Optional[str]:
        """Waits for the server to end the stream (or close the connection); returns the stream
        error condition, if one came."""

        async def ended() -> None:
            while not self.ended:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(ended(), timeout)
        except asyncio.TimeoutError:
            raise ClientError(f"{self.jid}: the server did not end the stream within {timeout}s") from None
        return self.stream_error

    def tcp_established(self) -> bool:
        """Whether the TCP connection is still established, seen from the kernel: true until a
        FIN or reset arrives, even while this client does not read (Linux TCP_INFO)."""
        try:
            state = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        except OSError:  # asyncio already closed it
            return False
        return state == TCP_ESTABLISHED

    def pause_reading(self) -> None:
        """Stops reading the socket: what the server sends backs up into its queue."""
        self.writer.transport.pause_reading()

    def resume_reading(self) -> None:
        self.writer.transport.resume_reading()

    async def close(self) -> None:
        """Closes the stream politely (bounded) and the connection."""
        if not self.ended:
            self.send("</stream:stream>")
            try:
                await self.wait_ended(5.0)
            except ClientError:
                pass
        self.abort()

    def abort(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.writer.transport.abort()


async def register(host: str, port: int, domain: str, user: str, password: str,
                   timeout: float = DEFAULT_TIMEOUT) -> None:
    """Registers user@domain in-band on a connection of its own."""
    client = await AioClient.connect(host, port, domain, timeout=timeout)
    try:
        await client.register(user, password, timeout)
    finally:
        client.abort()


async def gather_bounded(coros, limit: int) -> list:
    """Runs the coroutines with at most `limit` at a time; results in order, first error raised."""
    sem = asyncio.Semaphore(limit)

    async def one(c):
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))
