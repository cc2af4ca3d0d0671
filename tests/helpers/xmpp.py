"""slixmpp helpers: in-band registration, logged-in chat clients, XEP-0114 components.

Every wait is an asyncio timeout on the event or stanza we expect; nothing sleeps to synchronise.
Create clients inside a coroutine run by `run_async` (slixmpp binds to the running loop).

Typical use in a test:

    async def scenario():
        await register_account(host, port, "alice@localhost", "pw")
        async with chat_client(host, port, "alice@localhost", "pw") as alice:
            alice.send_chat("bob@localhost", "hi")
            msg = await alice.wait_message(lambda m: m["body"] == "hello")
    run_async(scenario(), timeout=60)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import xml.etree.ElementTree as ET
from typing import Any, AsyncIterator, Awaitable, Callable, Optional

from slixmpp import ClientXMPP, ComponentXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

log = logging.getLogger("starling.tests.xmpp")

NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

DEFAULT_TIMEOUT = 15.0


class XMPPTestError(AssertionError):
    pass


class RegistrationFailed(XMPPTestError):
    pass


class LoginFailed(XMPPTestError):
    pass


class ComponentRefused(XMPPTestError):
    """The server refused a component: `condition` is the stream error condition (or None)."""

    def __init__(self, condition: Optional[str], text: str = "") -> None:
        super().__init__(f"component refused: stream error {condition!r} {text}".strip())
        self.condition = condition
        self.text = text


def run_async(coro: Awaitable[Any], timeout: float = 60.0) -> Any:
    """Run a coroutine to completion from a synchronous pytest test, with an overall timeout."""

    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def stanza_error(stanza) -> Optional[tuple[str, str]]:
    """(type, condition) of a stanza's <error/>, in whatever namespace the server used, or None."""
    xml: ET.Element = stanza.xml
    for child in xml:
        if child.tag.split("}")[-1] == "error":
            cond = None
            for c in child:
                if c.tag.startswith(f"{{{NS_STANZAS}}}") and not c.tag.endswith("}text"):
                    cond = c.tag.split("}", 1)[1]
                    break
            return (child.get("type", ""), cond or "")
    return None


class _StanzaQueue:
    """Collects stanzas and lets a test wait for the first one matching a predicate."""

    def __init__(self) -> None:
        self.items: list = []  # received and not yet taken by a wait()
        self.history: list = []  # everything ever received, in order
        self._changed = asyncio.Event()

    def put(self, stanza) -> None:
        self.items.append(stanza)
        self.history.append(stanza)
        self._changed.set()

    async def wait(self, predicate: Callable[[Any], bool], timeout: float, what: str):
        async def find():
            while True:
                for i, st in enumerate(self.items):
                    if predicate(st):
                        return self.items.pop(i)
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except asyncio.TimeoutError:
            seen = "\n".join(str(s) for s in self.items) or "(nothing)"
            raise XMPPTestError(f"timed out after {timeout}s waiting for {what}; unmatched stanzas:\n{seen}")


def _plaintext_client(client: ClientXMPP) -> None:
    """Allow a client to connect without TLS and to use SASL PLAIN in the clear (loopback only)."""
    client.enable_direct_tls = False
    client.enable_starttls = False
    client.enable_plaintext = True
    client.use_ipv6 = False
    client.use_aiodns = False
    client.whitespace_keepalive = False


# -- in-band registration (XEP-0077) ---------------------------------------------------------


class RegisterClient(ClientXMPP):
    """Connects, registers one account in-band before authenticating, and stops.

    It never authenticates on this connection: jabberd2's c2s hangs when registration, SASL and
    bind happen on one stream, and a registration connection should be just that anyway.
    """

    def __init__(self, jid: str, password: str) -> None:
        super().__init__(jid, password)
        _plaintext_client(self)
        self.register_plugin("xep_0077")
        # We drive registration from our own feature handler (below), which stops stream
        # feature processing afterwards so that no SASL exchange follows on this stream.
        self.plugin["xep_0077"].create_account = False
        self.register_feature("register", self._register_feature, restart=True, order=10)
        self.outcome: asyncio.Future = asyncio.get_running_loop().create_future()
        self.add_event_handler("stream_error", self._on_stream_error)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("stream_negotiated", self._on_negotiated_without_register)
        self.add_event_handler("failed_auth", self._on_negotiated_without_register)
        self.add_event_handler("session_start", self._on_negotiated_without_register)

    def _fail(self, exc: Exception) -> None:
        if not self.outcome.done():
            self.outcome.set_exception(exc)

    def _on_stream_error(self, err) -> None:
        self._fail(RegistrationFailed(f"stream error during registration: {err}"))

    def _on_disconnected(self, reason) -> None:
        self._fail(RegistrationFailed(f"disconnected during registration: {reason}"))

    def _on_negotiated_without_register(self, _event) -> None:
        self._fail(RegistrationFailed("server did not offer in-band registration (no register feature)"))

    async def _register_feature(self, features) -> bool:
        try:
            form = await self.plugin["xep_0077"].get_registration(timeout=DEFAULT_TIMEOUT)
            log.debug("registration form: %s", form)
            iq = self.Iq()
            iq["type"] = "set"
            iq["register"]["username"] = self.boundjid.user
            iq["register"]["password"] = self.password
            result = await iq.send(timeout=DEFAULT_TIMEOUT)
            if not self.outcome.done():
                self.outcome.set_result(result)
        except IqError as e:
            self._fail(RegistrationFailed(f"registration refused: {e.iq}"))
        except IqTimeout:
            self._fail(RegistrationFailed("no answer to the registration request"))
        except Exception as e:  # pragma: no cover - surfaced to the test
            self._fail(e)
        return True  # halt feature processing: no SASL on this connection


async def register_account(host: str, port: int, jid: str, password: str, timeout: float = DEFAULT_TIMEOUT):
    """Register `jid` with `password` in-band at host:port on a connection used only for that."""
    client = RegisterClient(jid, password)
    client.connect(host, port)
    try:
        return await asyncio.wait_for(asyncio.shield(client.outcome), timeout)
    except asyncio.TimeoutError:
        raise RegistrationFailed(f"registration of {jid} at {host}:{port} did not finish within {timeout}s")
    finally:
        await _disconnect(client)


async def _disconnect(client, timeout: float = 5.0) -> None:
    if client.transport is None:
        client.cancel_connection_attempt()
        return
    try:
        await asyncio.wait_for(client.disconnect(wait=2.0), timeout)
    except (asyncio.TimeoutError, Exception):
        client.abort()


# -- logged-in clients ---------------------------------------------------------------------


class ChatClient(ClientXMPP):
    """A logged-in client (SASL PLAIN over plaintext TCP) that records every stanza it receives."""

    def __init__(self, jid: str, password: str, sasl_mech: str = "PLAIN") -> None:
        super().__init__(
            jid,
            password,
            sasl_mech=sasl_mech,
            plugin_config={"feature_mechanisms": {"unencrypted_plain": True, "unencrypted_digest": True}},
        )
        _plaintext_client(self)
        self.messages = _StanzaQueue()
        self.presences = _StanzaQueue()
        self.iqs = _StanzaQueue()
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.register_handler(Callback("test: all messages", MatchXPath("{jabber:client}message"), self.messages.put))
        self.register_handler(Callback("test: all presence", MatchXPath("{jabber:client}presence"), self.presences.put))
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("failed_auth", lambda _: self._fail(LoginFailed(f"{jid}: SASL authentication failed")))
        self.add_event_handler("stream_error", lambda e: self._fail(LoginFailed(f"{jid}: stream error {e}")))
        self.add_event_handler("disconnected", lambda r: self._fail(LoginFailed(f"{jid}: disconnected: {r}")))

    def _fail(self, exc: Exception) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc)

    def _on_session_start(self, _event) -> None:
        if not self.ready.done():
            self.ready.set_result(True)

    async def login(self, host: str, port: int, timeout: float = DEFAULT_TIMEOUT, presence: bool = True) -> "ChatClient":
        """Connect, authenticate, bind; then (by default) send initial presence and make sure the
        server has processed it before returning, so the session is available for delivery.

        jabberd2 does not echo a lone resource's initial presence back, so the barrier is an
        XEP-0199 ping to our own server sent right after the presence: c2s forwards both to the sm
        in order, so the pong proves the presence was handled."""
        self.connect(host, port)
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), timeout)
        except asyncio.TimeoutError:
            raise LoginFailed(f"{self.boundjid}: no session within {timeout}s")
        if presence:
            self.send_presence()
            await self.ping_server(timeout)
        return self

    async def ping_server(self, timeout: float = DEFAULT_TIMEOUT):
        """XEP-0199 ping to our own domain; returns the answer (result or error both prove delivery)."""
        iq = self.make_iq_get(ito=self.boundjid.domain)
        iq.append(ET.Element("{urn:xmpp:ping}ping"))
        try:
            return await iq.send(timeout=timeout)
        except IqError as e:
            return e.iq
        except IqTimeout:
            raise XMPPTestError(f"{self.boundjid}: no answer to a ping to {self.boundjid.domain} within {timeout}s")

    def send_chat(self, to: str, body: str, msg_id: Optional[str] = None):
        msg = self.make_message(mto=to, mbody=body, mtype="chat")
        if msg_id:
            msg["id"] = msg_id
        msg.send()
        return msg

    async def wait_message(self, predicate: Callable[[Any], bool], timeout: float = DEFAULT_TIMEOUT, what: str = "a message"):
        return await self.messages.wait(predicate, timeout, what)

    async def close(self) -> None:
        await _disconnect(self)


@contextlib.asynccontextmanager
async def chat_client(host: str, port: int, jid: str, password: str, timeout: float = DEFAULT_TIMEOUT, **kw) -> AsyncIterator[ChatClient]:
    client = ChatClient(jid, password, **kw)
    try:
        await client.login(host, port, timeout)
        yield client
    finally:
        await client.close()


# -- XEP-0114 components ---------------------------------------------------------------------


class Component(ComponentXMPP):
    """An XEP-0114 component that records every stanza it receives.

    `on_message` (optional) is called for every message and may answer it.
    """

    def __init__(
        self,
        jid: str,
        secret: str,
        host: str,
        port: int,
        on_message: Optional[Callable[["Component", Any], None]] = None,
        normalize_ns: bool = False,
    ) -> None:
        super().__init__(jid, secret, host, port)
        # slixmpp, like any XEP-0114 component, expects stanzas (and their children: body, error…)
        # in jabber:component:accept. jabberd2's router writes them in jabber:client instead;
        # slixmpp then renames only the top element, so msg["body"] reads empty. normalize_ns=True
        # renames the whole tree (used against jabberd2; Starling's tests keep slixmpp stock).
        self.normalize_ns = normalize_ns
        self.use_ipv6 = False
        self.use_aiodns = False
        self.whitespace_keepalive = False
        self.messages = _StanzaQueue()
        self.iqs = _StanzaQueue()
        self.presences = _StanzaQueue()
        self.on_message = on_message
        self.stream_errors: list = []
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        ns = self.default_ns
        self.register_handler(Callback("test: all messages", MatchXPath(f"{{{ns}}}message"), self._on_message))
        self.register_handler(Callback("test: all iqs", MatchXPath(f"{{{ns}}}iq"), self.iqs.put))
        self.register_handler(Callback("test: all presence", MatchXPath(f"{{{ns}}}presence"), self.presences.put))
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("stream_error", self._on_stream_error)
        self.add_event_handler("disconnected", self._on_disconnected)

    def incoming_filter(self, xml):
        if self.normalize_ns:
            for el in xml.iter():
                if el.tag.startswith("{jabber:client}"):
                    el.tag = "{%s}%s" % (self.default_ns, el.tag.split("}", 1)[1])
            return xml
        return super().incoming_filter(xml)

    def _on_message(self, msg) -> None:
        self.messages.put(msg)
        if self.on_message is not None:
            self.on_message(self, msg)

    def _on_session_start(self, _event) -> None:
        if not self.ready.done():
            self.ready.set_result(True)

    def _on_stream_error(self, err) -> None:
        self.stream_errors.append(err)
        if not self.ready.done():
            self.ready.set_exception(ComponentRefused(err["condition"], str(err)))

    def _on_disconnected(self, reason) -> None:
        if not self.ready.done():
            self.ready.set_exception(ComponentRefused(None, f"disconnected before handshake: {reason}"))

    async def start(self, timeout: float = DEFAULT_TIMEOUT) -> "Component":
        """Connect and complete the handshake; raises ComponentRefused with the stream error."""
        self.connect()
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), timeout)
        except asyncio.TimeoutError:
            raise XMPPTestError(f"component {self.boundjid}: no handshake answer within {timeout}s")
        return self

    async def refused(self, timeout: float = DEFAULT_TIMEOUT) -> ComponentRefused:
        """Connect, expect a refusal, and return it (fails if the handshake is accepted)."""
        try:
            await self.start(timeout)
        except ComponentRefused as e:
            return e
        raise XMPPTestError(f"component {self.boundjid}: handshake unexpectedly accepted")

    def send_msg(self, mfrom: str, mto: str, body: str, mtype: str = "chat", msg_id: Optional[str] = None):
        msg = self.make_message(mto=mto, mbody=body, mtype=mtype, mfrom=mfrom)
        if msg_id:
            msg["id"] = msg_id
        msg.send()
        return msg

    async def wait_message(self, predicate: Callable[[Any], bool], timeout: float = DEFAULT_TIMEOUT, what: str = "a message"):
        return await self.messages.wait(predicate, timeout, what)

    async def close(self) -> None:
        await _disconnect(self)


@contextlib.asynccontextmanager
async def component(jid: str, secret: str, host: str, port: int, timeout: float = DEFAULT_TIMEOUT, **kw) -> AsyncIterator[Component]:
    comp = Component(jid, secret, host, port, **kw)
    try:
        await comp.start(timeout)
        yield comp
    finally:
        await comp.close()
