"""XEP-0114 (jabber:component:accept) third-party components on starling-router, with slixmpp.

The router config lists one secret per component name ([components."NAME"] secret) and an alias
([aliases]). Stock slixmpp ComponentXMPP objects (helpers.xmpp.Component only adds recording and
bounded waits) connect to the router port:

- a component with its secret is accepted, receives a message addressed to its domain (sent by a
  second component through the router) and answers;
- a wrong secret gets the stream error not-authorized; so does another component's secret;
- a name not in the config gets host-unknown;
- a stanza with a `from` the component has not bound comes back to it as a stanza error
  (the router bounces the route with 401 and turns it into an error of type cancel; the
  condition is helpers.SPOOF_CONDITION) and is not delivered;
- a name configured in [aliases] routes to the component bound to its target, and that component
  may send from the alias.
"""

from __future__ import annotations

import pytest

from helpers import (
    SPOOF_CONDITION,
    SPOOF_ERROR_TYPE,
    UNKNOWN_NAME_CONDITION,
    WRONG_SECRET_CONDITION,
)
from helpers.ports import LOOPBACK, free_port
from helpers.rawxmpp import component_handshake
from helpers.xmpp import Component, component, run_async, stanza_error

ECHO = "echo.localhost"
ECHO_SECRET = "echo-secret-1"
PEER = "peer.localhost"
PEER_SECRET = "peer-secret-2"
ALIAS = "alias.localhost"
UNKNOWN = "unknown.localhost"

TIMEOUT = 10.0


def echo_answer(comp: Component, msg) -> None:
    """What a simple third-party component does: answer every message with its body echoed."""
    if msg["type"] == "error" or not msg["body"]:
        return
    reply = msg.reply(f"echo: {msg['body']}")  # to/from swapped: answers from the address it was sent to
    reply["id"] = msg["id"]
    reply.send()


@pytest.fixture
def router(starling_router):
    return starling_router(
        {
            "id": "router",
            "listen": [f"{LOOPBACK}:{free_port()}"],
            "components": {
                ECHO: {"secret": ECHO_SECRET},
                PEER: {"secret": PEER_SECRET},
            },
            "aliases": {ALIAS: ECHO},
        }
    )


def test_component_receives_message_for_its_domain_and_answers(router):
    async def scenario():
        async with component(ECHO, ECHO_SECRET, router.host, router.port, on_message=echo_answer) as echo, component(
            PEER, PEER_SECRET, router.host, router.port
        ) as peer:
            peer.send_msg(mfrom=f"user@{PEER}/desk", mto=ECHO, body="hello component", msg_id="c1")

            got = await echo.wait_message(lambda m: m["id"] == "c1", TIMEOUT, "the message at the echo component")
            assert got["to"].full == ECHO
            assert got["from"].full == f"user@{PEER}/desk"
            assert got["type"] == "chat"
            # slixmpp reads children in the stream's namespace (jabber:component:accept). A router
            # that forwards the stanza's children in jabber:client (as jabberd2's does) leaves a
            # stock slixmpp component with an empty body.
            assert got["body"] == "hello component", f"component could not read the body of: {got.xml!r} ({got})"

            reply = await peer.wait_message(lambda m: m["id"] == "c1", TIMEOUT, "the echo component's answer")
            assert reply["body"] == "echo: hello component"
            assert reply["from"].full == ECHO
            assert reply["to"].full == f"user@{PEER}/desk"
            assert stanza_error(reply) is None

            # A node JID in the component's domain is routed to it too, and several in a row arrive in order.
            for i in range(5):
                peer.send_msg(mfrom=f"user@{PEER}/desk", mto=f"bot{i}@{ECHO}", body=f"n{i}", msg_id=f"n{i}")
            for i in range(5):
                r = await peer.wait_message(lambda m: m["body"].startswith("echo: n"), TIMEOUT, f"answer n{i}")
                assert r["body"] == f"echo: n{i}"
                assert r["from"].full == f"bot{i}@{ECHO}"

    run_async(scenario(), timeout=60)


@pytest.mark.parametrize(
    "secret",
    [pytest.param("wrong-secret", id="wrong"), pytest.param(PEER_SECRET, id="another-components-secret")],
)
def test_wrong_secret_gets_not_authorized(router, secret):
    async def scenario():
        comp = Component(ECHO, secret, router.host, router.port)
        try:
            refused = await comp.refused(TIMEOUT)
        finally:
            await comp.close()
        assert refused.condition == WRONG_SECRET_CONDITION, refused

    run_async(scenario(), timeout=30)


def test_wrong_secret_stream_error_on_the_wire(router):
    res = component_handshake(router.host, router.port, ECHO, "wrong-secret", timeout=TIMEOUT)
    assert not res.handshake_ok, res.raw
    assert res.stream_error == WRONG_SECRET_CONDITION, res.raw
    assert res.closed_after_error, f"stream not closed after the error: {res.raw!r}"


def test_right_secret_handshake_on_the_wire(router):
    res = component_handshake(router.host, router.port, ECHO, ECHO_SECRET, timeout=TIMEOUT)
    assert res.stream_error is None, res.raw
    assert res.handshake_ok, res.raw
    assert res.header.get("id"), f"stream header without id: {res.raw!r}"


def test_unconfigured_name_gets_host_unknown(router):
    async def scenario():
        comp = Component(UNKNOWN, "any-secret", router.host, router.port)
        try:
            refused = await comp.refused(TIMEOUT)
        finally:
            await comp.close()
        assert refused.condition == UNKNOWN_NAME_CONDITION, refused

    run_async(scenario(), timeout=30)


@pytest.mark.parametrize(
    "name,secret",
    [
        pytest.param(UNKNOWN, "any-secret", id="unknown-name"),
        # An alias is not a component name: it cannot be connected to, even with its target's secret.
        pytest.param(ALIAS, ECHO_SECRET, id="alias-name"),
    ],
)
def test_unconfigured_name_stream_error_on_the_wire(router, name, secret):
    res = component_handshake(router.host, router.port, name, secret, timeout=TIMEOUT)
    assert not res.handshake_ok, res.raw
    assert res.stream_error == UNKNOWN_NAME_CONDITION, res.raw
    assert res.closed_after_error, f"stream not closed after the error: {res.raw!r}"


@pytest.mark.parametrize(
    "spoofed_from",
    [
        pytest.param("x@evil.localhost/r", id="unbound-domain"),
        pytest.param(f"someone@{PEER}/r", id="other-components-domain"),
    ],
)
def test_spoofed_from_is_bounced_as_stanza_error(router, spoofed_from):
    async def scenario():
        async with component(ECHO, ECHO_SECRET, router.host, router.port) as echo, component(
            PEER, PEER_SECRET, router.host, router.port
        ) as peer:
            echo.send_msg(mfrom=spoofed_from, mto=f"user@{PEER}", body="spoofed", msg_id="spoof-1")

            bounced = await echo.wait_message(lambda m: m["id"] == "spoof-1", TIMEOUT, "the bounce of the spoofed message")
            assert bounced["type"] == "error", bounced
            err = stanza_error(bounced)
            assert err is not None, f"no <error/> in {bounced}"
            assert err == (SPOOF_ERROR_TYPE, SPOOF_CONDITION), bounced

            # The spoofed message was not delivered: a legitimate one sent after it on the same
            # connection arrives, and nothing arrived before it.
            echo.send_msg(mfrom=f"bot@{ECHO}", mto=f"user@{PEER}", body="legit", msg_id="legit-1")
            legit = await peer.wait_message(lambda m: m["id"] == "legit-1", TIMEOUT, "the legitimate message")
            assert legit["from"].full == f"bot@{ECHO}"
            assert [m["id"] for m in peer.messages.history] == ["legit-1"], [str(m) for m in peer.messages.history]

    run_async(scenario(), timeout=60)


def test_alias_routes_to_its_target_component(router):
    async def scenario():
        async with component(ECHO, ECHO_SECRET, router.host, router.port, on_message=echo_answer) as echo, component(
            PEER, PEER_SECRET, router.host, router.port
        ) as peer:
            peer.send_msg(mfrom=f"user@{PEER}/desk", mto=f"svc@{ALIAS}", body="via alias", msg_id="a1")

            got = await echo.wait_message(lambda m: m["id"] == "a1", TIMEOUT, "the aliased message at the echo component")
            assert got["to"].full == f"svc@{ALIAS}"
            assert got["body"] == "via alias"

            # The echo component answers from the alias (msg.reply swaps to/from): allowed, since
            # the alias points at a name it is bound to.
            reply = await peer.wait_message(lambda m: m["id"] == "a1", TIMEOUT, "the answer sent from the alias")
            assert reply["from"].full == f"svc@{ALIAS}"
            assert reply["body"] == "echo: via alias"
            assert stanza_error(reply) is None, reply

            # The alias's bare domain routes too.
            peer.send_msg(mfrom=f"user@{PEER}/desk", mto=ALIAS, body="domain", msg_id="a2")
            reply = await peer.wait_message(lambda m: m["id"] == "a2", TIMEOUT, "the answer from the alias domain")
            assert reply["from"].full == ALIAS
            assert reply["body"] == "echo: domain"

    run_async(scenario(), timeout=60)
