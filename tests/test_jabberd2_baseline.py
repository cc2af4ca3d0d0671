"""Baseline: jabberd2 alone (its own router, sm and c2s) with slixmpp clients.

This proves the harness and the jabberd2 configs in tests/jabberd2/. The interop test
(test_jabberd2_interop.py) runs the same scenario with starling-router in place of jabberd2-router,
so if this passes and that fails, the difference is our router.
"""

from __future__ import annotations

import pytest

from helpers.process import ProcessError
from helpers.xmpp import LoginFailed, chat_client, register_account, run_async

DOMAIN = "localhost"


async def register_and_chat(host: str, port: int, domain: str = DOMAIN) -> None:
    """Two accounts register in-band (each on its own connection), log in on new connections,
    and exchange messages both ways: to a bare JID and to a full JID."""
    alice, bob = f"alice@{domain}", f"bob@{domain}"
    await register_account(host, port, alice, "alice-pw")
    await register_account(host, port, bob, "bob-pw")

    async with chat_client(host, port, f"{alice}/laptop", "alice-pw") as a, chat_client(
        host, port, f"{bob}/phone", "bob-pw"
    ) as b:
        assert a.boundjid.bare == alice and b.boundjid.bare == bob

        a.send_chat(bob, "hello bob", msg_id="a2b-1")
        m = await b.wait_message(lambda m: m["body"] == "hello bob", what="alice's message at bob")
        assert m["from"].bare == alice
        assert m["type"] == "chat"

        b.send_chat(a.boundjid.full, "hello alice", msg_id="b2a-1")
        m = await a.wait_message(lambda m: m["body"] == "hello alice", what="bob's reply at alice")
        assert m["from"].full == b.boundjid.full
        assert m["id"] == "b2a-1"

        # A few more in each direction, in order.
        for i in range(5):
            a.send_chat(b.boundjid.full, f"a{i}")
            b.send_chat(alice, f"b{i}")
        for i in range(5):
            m = await b.wait_message(lambda m: m["body"].startswith("a"), what=f"a{i}")
            assert m["body"] == f"a{i}"
            m = await a.wait_message(lambda m: m["body"].startswith("b"), what=f"b{i}")
            assert m["body"] == f"b{i}"


def test_jabberd2_alone_register_and_chat(jabberd2):
    suite = jabberd2(domain=DOMAIN).start(with_router=True)
    run_async(register_and_chat(suite.c2s_host, suite.c2s_port), timeout=90)


def test_wrong_password_is_refused(jabberd2):
    """Sanity check of the harness itself: a bad password fails the login (bounded, no hang)."""
    suite = jabberd2(domain=DOMAIN).start(with_router=True)

    async def scenario():
        await register_account(suite.c2s_host, suite.c2s_port, f"carol@{DOMAIN}", "right")
        with pytest.raises(LoginFailed):
            async with chat_client(suite.c2s_host, suite.c2s_port, f"carol@{DOMAIN}/x", "wrong", timeout=10):
                pass

    run_async(scenario(), timeout=60)


def test_sm_with_wrong_router_password_gives_up(jabberd2):
    """Harness check for the interop test's negative case: jabberd2's sm, refused by the router's
    DIGEST-MD5, retries (router.retry.init) and exits without ever being ready."""
    suite = jabberd2(domain=DOMAIN)
    suite.start_router()
    suite.router_password = "not-the-password"  # the router keeps the right one
    with pytest.raises(ProcessError):
        suite.start_sm(timeout=15)
    assert "ready for sessions" not in suite.sm.output()
    assert "Authentication failed" in suite.sm.output()
