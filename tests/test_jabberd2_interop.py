"""jabberd2 interop: Debian's jabberd2 sm and c2s use starling-router instead of jabberd2-router.

They authenticate with SASL DIGEST-MD5 (jabberd2_compat = true), bind their names (sm: "sm" and the
domain with multi='to'; c2s: "c2s"), learn about each other from the router's presence
advertisements (c2s refuses clients with host-gone until it has seen the domain advertised), and
exchange sc:session control packets and stanzas as <route/>s. Two slixmpp clients register at
jabberd2's c2s (each on its own connection), log in on new connections, and chat both ways.

The same scenario against jabberd2's own router is test_jabberd2_baseline.py: if that passes and
this fails, the difference is our router. tests/jabberd2/PROTOCOL-CAPTURE.md shows the exchange
byte for byte as jabberd2's router does it.
"""

from __future__ import annotations

import pytest

from helpers.ports import LOOPBACK, free_port
from helpers.process import ProcessError
from helpers.xmpp import run_async
from test_jabberd2_baseline import DOMAIN, register_and_chat

ROUTER_USER = "jabberd"
ROUTER_PASSWORD = "interop-router-secret"


def router_config(port: int) -> dict:
    return {
        "id": "router",
        "listen": [f"{LOOPBACK}:{port}"],
        "jabberd2_compat": True,
        "users": {
            # The sm binds "sm" and the domain, c2s binds "c2s": they need to bind names other than
            # their account name. default_route/log mirror jabberd2's <acl type='all'> for this
            # user in its sample router.xml; neither daemon actually binds them.
            ROUTER_USER: {
                "password": ROUTER_PASSWORD,
                "bind": ["*"],
                "default_route": True,
                "log": True,
            }
        },
    }


@pytest.fixture
def interop(starling_router, jabberd2):
    port = free_port()
    router = starling_router(router_config(port))
    suite = jabberd2(
        domain=DOMAIN,
        router_host=router.host,
        router_port=router.port,
        router_user=ROUTER_USER,
        router_password=ROUTER_PASSWORD,
    )
    # start_sm waits for the sm's "ready for sessions" (its binds were answered); start_c2s waits
    # for c2s to listen (its bind was answered) and to serve the domain (it got the advertisement).
    suite.start(with_router=False)
    return router, suite


def test_jabberd2_sm_and_c2s_through_starling_router(interop):
    router, suite = interop
    run_async(register_and_chat(suite.c2s_host, suite.c2s_port), timeout=90)
    # Nothing died along the way.
    assert router.process.is_running(), router.process.tail()
    assert suite.sm.is_running(), suite.sm.tail()
    assert suite.c2s.is_running(), suite.c2s.tail()


def test_jabberd2_wrong_router_password_is_refused(starling_router, jabberd2):
    """DIGEST-MD5 is really checked: an sm with the wrong router password never gets ready."""
    port = free_port()
    starling_router(router_config(port))
    suite = jabberd2(
        domain=DOMAIN,
        router_port=port,
        router_user=ROUTER_USER,
        router_password="not-the-password",
    )
    with pytest.raises(ProcessError):
        # jabberd2's sm retries router.retry.init (3) times, one second apart, then exits.
        suite.start_sm(timeout=15)
    assert "ready for sessions" not in suite.sm.output()
    # Refused with a SASL <failure/> (jabberd2 logs it), not left hanging.
    assert "Authentication failed" in suite.sm.output(), suite.sm.tail()
