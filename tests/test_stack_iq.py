"""RFC 6120 §8 IQ semantics on the all-Starling stack: what the server answers itself
(service-unavailable for unknown payloads, bad-request for malformed IQs), what it never answers
(results and errors), IQs routed between two resources, and IQs to another user's bare JID,
which the server answers on the user's behalf (RFC 6121 §8.5.2.1.3)."""

import asyncio
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from helpers.stack import DOMAIN, login, register, start_stack
from helpers.stack_checks import barrier, error_of, fence, is_error, jid, leftovers, track_iqs
from helpers.xmpp import run_async

NS_UNKNOWN = "urn:example:starling:unknown"
NS_ECHO = "urn:example:starling:echo"
PING = "<ping xmlns='urn:xmpp:ping'/>"


def scenario(workdir, processes, body):
    stack = start_stack(workdir, processes)

    async def run():
        await register(stack, "alice", "bob")
        await body(stack)

    run_async(run(), timeout=90)


async def answer(client, iq_id: str, what: str):
    return await client.iqs.wait(lambda i: i["id"] == iq_id, 15, what)


def unknown(tag: str = "query") -> ET.Element:
    return ET.Element(f"{{{NS_UNKNOWN}}}{tag}")


def test_unknown_namespace_to_the_server_is_service_unavailable(workdir, processes):
    """§8.4 / §10.5.3: a get or set the server does not understand, to the domain, without a
    `to` (the account) or to the user's own bare JID, is answered with service-unavailable."""

    async def body(stack):
        alice = track_iqs(await login(stack, "alice", resource="pc"))
        try:
            for to in (DOMAIN, None, jid("alice")):
                for itype in ("get", "set"):
                    reply = await alice.iq(to, itype, unknown())
                    assert reply["type"] == "error", reply
                    assert error_of(reply) == ("cancel", "service-unavailable"), reply
                    if to is not None:
                        assert reply["from"] == to
            # A known namespace with a request the server does not serve is the same.
            reply = await alice.iq(DOMAIN, "set", ET.Element("{urn:xmpp:ping}ping"))
            assert is_error(reply, "service-unavailable"), reply
        finally:
            await alice.close()

    scenario(workdir, processes, body)


def test_malformed_iqs_are_bad_request(workdir, processes):
    """§8.2.3: a get or set has exactly one child, and `type` is one of four values; anything
    else is bad-request, wherever it is addressed."""

    async def body(stack):
        alice = track_iqs(await login(stack, "alice", resource="pc"))
        bob = track_iqs(await login(stack, "bob", resource="home"))
        try:
            cases = {
                "empty-get": f"<iq type='get' id='empty-get' to='{DOMAIN}'/>",
                "empty-set": "<iq type='set' id='empty-set'/>",
                "empty-self": f"<iq type='get' id='empty-self' to='{jid('alice')}'/>",
                "two": f"<iq type='get' id='two' to='{DOMAIN}'>{PING}<query xmlns='{NS_UNKNOWN}'/></iq>",
                "two-self": f"<iq type='get' id='two-self'>{PING}{PING}</iq>",
                "bad-type": f"<iq type='bogus' id='bad-type' to='{DOMAIN}'>{PING}</iq>",
                "no-type": f"<iq id='no-type' to='{DOMAIN}'>{PING}</iq>",
                "bad-type-peer": f"<iq type='fetch' id='bad-type-peer' to='{jid('bob', 'home')}'>{PING}</iq>",
                "empty-bare-peer": f"<iq type='get' id='empty-bare-peer' to='{jid('bob')}'/>",
            }
            for xml in cases.values():
                alice.send_raw(xml)
            for iq_id in cases:
                reply = await answer(alice, iq_id, f"the answer to {iq_id}")
                assert is_error(reply, "bad-request"), reply
                assert error_of(reply)[0] == "modify", reply
            # None of them reached bob.
            await barrier(alice, bob)
            assert leftovers(bob.iqs, lambda i: i["from"].bare == jid("alice")) == []
        finally:
            await alice.close()
            await bob.close()

    scenario(workdir, processes, body)


def test_results_and_errors_are_never_answered(workdir, processes):
    """§8.2.3: an IQ result or error gets no answer, whoever it is for."""

    async def body(stack):
        alice = track_iqs(await login(stack, "alice", resource="pc"))
        bob = track_iqs(await login(stack, "bob", resource="home"))
        try:
            error = "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
            sent = []
            for n, to in enumerate((DOMAIN, None, jid("alice"), jid("bob"), jid("bob", "gone"), jid("nobody"),
                                    jid("nobody", "r"))):
                to_attr = f" to='{to}'" if to else ""
                alice.send_raw(f"<iq type='result' id='res-{n}'{to_attr}/>")
                alice.send_raw(f"<iq type='error' id='err-{n}'{to_attr}>{PING}{error}</iq>")
                alice.send_raw(f"<iq type='result' id='sess-{n}'{to_attr}>"
                               "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
                sent += [f"res-{n}", f"err-{n}", f"sess-{n}"]
            await alice.ping_server()
            await fence(alice)
            await barrier(alice, bob)
            assert leftovers(alice.iqs, lambda i: i["id"] in sent) == []
            assert leftovers(bob.iqs, lambda i: i["id"] in sent) == []
        finally:
            await alice.close()
            await bob.close()

    scenario(workdir, processes, body)


def test_iq_to_a_full_jid_is_routed_and_answered(workdir, processes):
    """§8.2 / RFC 6121 §8.5.3.1: an IQ to a connected full JID reaches that resource with the
    sender's full JID in `from`; its result or error goes back the same way. No such resource:
    service-unavailable from that full JID (§8.5.3.2.3)."""

    async def body(stack):
        alice = track_iqs(await login(stack, "alice", resource="pc"))
        bob = track_iqs(await login(stack, "bob", resource="home"))
        seen = []

        def on_echo(iq):
            seen.append(iq)
            reply = iq.reply()
            if iq.xml.find(f"{{{NS_ECHO}}}echo").get("fail"):
                reply["type"] = "error"
                reply["error"]["type"] = "modify"
                reply["error"]["condition"] = "not-acceptable"
            else:
                reply.xml.append(ET.Element(f"{{{NS_ECHO}}}echo", {"said": "pong"}))
            reply.send()

        bob.register_handler(Callback("test: echo", MatchXPath(f"{{jabber:client}}iq/{{{NS_ECHO}}}echo"), on_echo))
        try:
            reply = await alice.iq(jid("bob", "home"), "get", ET.Element(f"{{{NS_ECHO}}}echo"))
            assert reply["type"] == "result", reply
            assert reply["from"] == jid("bob", "home")
            assert reply.xml.find(f"{{{NS_ECHO}}}echo").get("said") == "pong"
            assert seen[-1]["from"] == jid("alice", "pc")
            assert seen[-1]["to"] == jid("bob", "home")
            reply = await alice.iq(jid("bob", "home"), "set", ET.Element(f"{{{NS_ECHO}}}echo", {"fail": "1"}))
            assert is_error(reply, "not-acceptable"), reply
            assert reply["from"] == jid("bob", "home")
            # An unknown payload is bob's client's to refuse, not the server's.
            asked = asyncio.ensure_future(alice.iq(jid("bob", "home"), "get", unknown()))
            got = await bob.iqs.wait(lambda i: i.xml.find(f"{{{NS_UNKNOWN}}}query") is not None, 15, "the IQ")
            assert got["from"] == jid("alice", "pc")
            refusal = got.reply()
            refusal["type"] = "error"
            refusal["error"]["type"] = "cancel"
            refusal["error"]["condition"] = "feature-not-implemented"
            refusal.send()
            reply = await asked
            assert is_error(reply, "feature-not-implemented") and reply["from"] == jid("bob", "home"), reply
            # A resource that is not there.
            reply = await alice.iq(jid("bob", "gone"), "get", ET.Element(f"{{{NS_ECHO}}}echo"))
            assert is_error(reply, "service-unavailable"), reply
            assert reply["from"] == jid("bob", "gone")
            assert len(seen) == 2
        finally:
            await alice.close()
            await bob.close()

    scenario(workdir, processes, body)


def test_iq_to_another_users_bare_jid_is_answered_by_the_server(workdir, processes):
    """RFC 6121 §8.5.2.1.3 / §8.5.2.2.3 / §8.5.1: an IQ to a user's bare JID is the server's to
    answer on the user's behalf, never delivered to a resource: service-unavailable for a
    payload it does not serve, whether the user is online, offline or does not exist."""

    async def body(stack):
        alice = track_iqs(await login(stack, "alice", resource="pc"))
        bob = track_iqs(await login(stack, "bob", resource="home"))
        try:
            for itype in ("get", "set"):
                reply = await alice.iq(jid("bob"), itype, unknown())
                assert is_error(reply, "service-unavailable"), reply
                assert error_of(reply)[0] == "cancel"
                assert reply["from"] == jid("bob")
                assert reply["to"] == jid("alice", "pc")
            await barrier(alice, bob)
            assert leftovers(bob.iqs, lambda i: i["from"].bare == jid("alice")) == []
        finally:
            await bob.close()
        reply = await alice.iq(jid("bob"), "get", unknown())
        assert is_error(reply, "service-unavailable"), reply
        reply = await alice.iq(jid("nobody"), "get", unknown())
        assert is_error(reply, "service-unavailable"), reply
        assert reply["from"] == jid("nobody")
        await alice.close()

    scenario(workdir, processes, body)
