"""starling-c2s with jabberd2's sm on starling-router (the mixed interop of issue 3).

starling-router (jabberd2_compat for the sm's DIGEST-MD5), Debian jabberd2's sm (own SQLite db),
and starling-c2s with its own account store. Clients register in-band (XEP-0077: c2s stores the
SCRAM credentials and sends `create` to the sm), log in with SCRAM-SHA-256 over STARTTLS against
c2s's self-signed certificate, bind, and chat through the sm.
"""

from __future__ import annotations

import asyncio

import pytest

from helpers.c2s_stack import (
    DOMAIN,
    register_tls,
    router_config,
    start_c2s,
    start_sm,
    tls_client,
)
from helpers.ports import free_port
from helpers.xmpp import LoginFailed, RegistrationFailed, run_async


@pytest.fixture
def stack(starling_router, jabberd2, workdir, processes):
    router = starling_router(router_config(free_port()))
    sm = start_sm(jabberd2, router)
    c2s = start_c2s(workdir, processes, router)
    return router, sm, c2s


def test_register_login_and_chat_both_ways(stack):
    router, sm, c2s = stack
    alice, bob = f"alice@{DOMAIN}", f"bob@{DOMAIN}"

    async def scenario():
        await register_tls(c2s.host, c2s.port, alice, "alice-pw")
        await register_tls(c2s.host, c2s.port, bob, "bob-pw")
        async with tls_client(c2s.host, c2s.port, f"{alice}/laptop", "alice-pw") as a, tls_client(
            c2s.host, c2s.port, f"{bob}/phone", "bob-pw"
        ) as b:
            assert a.boundjid.full == f"{alice}/laptop"
            assert b.boundjid.full == f"{bob}/phone"
            a.send_chat(bob, "hello bob", msg_id="a2b-1")
            m = await b.wait_message(lambda m: m["body"] == "hello bob", what="alice's message at bob")
            assert m["from"].full == f"{alice}/laptop"  # stamped by c2s
            b.send_chat(a.boundjid.full, "hello alice", msg_id="b2a-1")
            m = await a.wait_message(lambda m: m["body"] == "hello alice", what="bob's reply")
            assert m["from"].full == b.boundjid.full and m["id"] == "b2a-1"
            for i in range(5):
                a.send_chat(b.boundjid.full, f"a{i}")
                b.send_chat(alice, f"b{i}")
            for i in range(5):
                m = await b.wait_message(lambda m: m["body"].startswith("a"), what=f"a{i}")
                assert m["body"] == f"a{i}"
                m = await a.wait_message(lambda m: m["body"].startswith("b"), what=f"b{i}")
                assert m["body"] == f"b{i}"

    run_async(scenario(), timeout=120)
    assert c2s.process.is_running() and sm.sm.is_running() and router.process.is_running()


def test_direct_tls_login(stack):
    _, _, c2s = stack

    async def scenario():
        await register_tls(c2s.host, c2s.port, f"dora@{DOMAIN}", "pw")
        async with tls_client(c2s.host, c2s.tls_port, f"dora@{DOMAIN}/direct", "pw", direct=True) as d:
            assert d.boundjid.full == f"dora@{DOMAIN}/direct"

    run_async(scenario(), timeout=60)


def test_same_full_jid_twice_replaces_the_first_with_conflict(stack):
    _, _, c2s = stack

    async def scenario():
        await register_tls(c2s.host, c2s.port, f"carol@{DOMAIN}", "pw")
        async with tls_client(c2s.host, c2s.port, f"carol@{DOMAIN}/desk", "pw") as first:
            async with tls_client(c2s.host, c2s.port, f"carol@{DOMAIN}/desk", "pw") as second:
                condition = await asyncio.wait_for(first.stream_error_future, 15)
                assert condition == "conflict"
                # The new session works.
                pong = await second.ping_server()
                assert pong is not None

    run_async(scenario(), timeout=60)


def test_wrong_password_fails_and_taken_name_conflicts(stack):
    _, _, c2s = stack

    async def scenario():
        await register_tls(c2s.host, c2s.port, f"erin@{DOMAIN}", "right")
        with pytest.raises(RegistrationFailed, match="conflict"):
            await register_tls(c2s.host, c2s.port, f"erin@{DOMAIN}", "other")
        with pytest.raises(LoginFailed):
            async with tls_client(c2s.host, c2s.port, f"erin@{DOMAIN}/x", "wrong", timeout=10):
                pass
        async with tls_client(c2s.host, c2s.port, f"erin@{DOMAIN}/x", "right"):
            pass

    run_async(scenario(), timeout=60)


def test_every_scram_hash_and_plain_log_in(stack):
    _, _, c2s = stack

    async def scenario():
        await register_tls(c2s.host, c2s.port, f"finn@{DOMAIN}", "pw")
        for mech in ("SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"):
            async with tls_client(c2s.host, c2s.port, f"finn@{DOMAIN}/{mech}", "pw", sasl_mech=mech) as f:
                assert f.boundjid.resource == mech

    run_async(scenario(), timeout=90)
