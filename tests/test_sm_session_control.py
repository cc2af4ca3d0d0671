"""starling-sm's side of jabberd2's session-control protocol, driven byte for byte by a fake c2s
(a native component on starling-router): create/created, start/started, replaced, sc:failed,
spoofed session attributes, end/ended. Needs no jabberd2.
"""

from __future__ import annotations

import re

import pytest

from helpers.component import connect
from helpers.ports import LOOPBACK, free_port
from helpers.smstack import sm_config
from helpers.starling import start_daemon

SC = "http://jabberd.jabberstudio.org/ns/session/1.0"
SESSION = f"{{{SC}}}session"


@pytest.fixture
def c2s(starling_router, workdir, processes):
    router = starling_router(
        {
            "id": "router",
            "listen": [f"{LOOPBACK}:{free_port()}"],
            "users": {
                "fakec2s": {"password": "c2s-secret", "bind": ["fakec2s"]},
                "sm": {"password": "sm-router-secret", "bind": ["sm", "localhost"]},
            },
        }
    )
    start_daemon(workdir, processes, "starling-sm", sm_config(router, workdir), ready_log=r"online at the router")
    comp = connect(router.host, router.port, "fakec2s", "c2s-secret", "fakec2s")
    # The sm asks every component the router advertises what it is (disco items of the domain);
    # a c2s does not answer, and neither does this one.
    probe = comp.next_route().find("{jabber:client}iq")
    assert probe is not None and probe.find("{http://jabber.org/protocol/disco#info}query") is not None
    yield comp
    comp.close()


def control(comp, to: str, action: str, target: str | None = None, **sc: str) -> None:
    attrs = f" action='{action}'" + (f" target='{target}'" if target else "")
    attrs += "".join(f" sc:{k}='{v}'" for k, v in sc.items())
    comp.route(to, "fakec2s", f"<sc:session xmlns:sc='{SC}'{attrs} id='req-{action}'/>")


def session_el(route):
    el = route.find(SESSION)
    assert el is not None, route
    return el


def test_session_control_exchange(c2s):
    control(c2s, "localhost", "create", "alice@localhost", c2s="7")
    r = c2s.next_route()
    el = session_el(r)
    assert (r.get("to"), r.get("from")) == ("fakec2s", "localhost")
    assert el.get("action") == "created" and el.get(f"{{{SC}}}c2s") == "7" and el.get("id") == "req-create"

    control(c2s, "localhost", "start", "alice@localhost/r", c2s="7")
    r = c2s.next_route()
    el = session_el(r)
    assert (r.get("to"), r.get("from")) == ("fakec2s", "sm")
    assert el.get("action") == "started" and el.get("target") == "alice@localhost/r"
    sid = el.get(f"{{{SC}}}sm")
    assert re.fullmatch(r"[0-9a-f]{40}", sid or ""), sid

    # Session attributes that do not match the session are spoofed: dropped. The ping after it
    # is answered first, so the message was not delivered.
    spoof = (
        f"<message xmlns='jabber:client' xmlns:sc='{SC}' sc:c2s='99' sc:sm='{sid}' to='alice@localhost'>"
        "<body>spoof</body></message>"
    )
    c2s.route("sm", "fakec2s", spoof)
    ping = (
        f"<iq xmlns='jabber:client' xmlns:sc='{SC}' sc:c2s='7' sc:sm='{sid}' type='get' id='p1' to='localhost'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>"
    )
    c2s.route("sm", "fakec2s", ping)
    r = c2s.next_route()
    iq = r.find("{jabber:client}iq")
    assert iq is not None and iq.get("type") == "result" and iq.get("id") == "p1", r
    assert iq.get("to") == "alice@localhost/r"
    assert iq.get(f"{{{SC}}}sm") == sid and iq.get(f"{{{SC}}}c2s") == "7"

    # A second start for the same full JID replaces the first session.
    control(c2s, "localhost", "start", "alice@localhost/r", c2s="8")
    first, second = c2s.next_route(), c2s.next_route()
    old = session_el(first)
    assert old.get("action") == "replaced" and old.get(f"{{{SC}}}sm") == sid and old.get(f"{{{SC}}}c2s") == "7"
    new = session_el(second)
    assert new.get("action") == "started" and new.get(f"{{{SC}}}sm") not in (None, sid)
    sid2 = new.get(f"{{{SC}}}sm")

    # A target outside our domains fails, with the request echoed back.
    control(c2s, "localhost", "start", "mallory@elsewhere.example/r", c2s="9")
    el = session_el(c2s.next_route())
    assert el.get(f"{{{SC}}}failed") == "1" and el.get("action") == "start"

    control(c2s, "sm", "end", c2s="8", sm=sid2)
    el = session_el(c2s.next_route())
    assert el.get("action") == "ended" and el.get(f"{{{SC}}}sm") == sid2
