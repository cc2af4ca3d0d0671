"""starling-router over TCP with the native component protocol: authentication, binds, the delivery
tree (single, multi, fan-out, default route, log sinks, aliases, configured copies), filters,
throttling, and bad input from one component that nobody else may notice."""

from __future__ import annotations

import collections
import socket
import xml.etree.ElementTree as ET

import pytest

from helpers.component import NS_CLIENT, NS_COMPONENT, AuthFailed, Component, connect, message
from helpers.rawxmpp import RawStream, StreamClosed, stream_error_condition

PASSWORD = "s3cret-pass"
ROUTE = f"{{{NS_COMPONENT}}}route"
PRESENCE = f"{{{NS_COMPONENT}}}presence"


def users(*names: str, **extra) -> dict:
    return {name: {"password": PASSWORD, "bind": [name, "*.example", "example.org"], **extra.get(name, {})} for name in names}


@pytest.fixture
def router(starling_router):
    def start(**config):
        config.setdefault("users", users("a", "b", "c"))
        return starling_router(config)

    return start


def wait_gone(observer: Component, name: str) -> None:
    """Waits for the advertisement that `name` went away."""
    while True:
        el = observer.expect(PRESENCE)
        if el.get("from") == name and el.get("type") == "unavailable":
            return


def payload_of(route: ET.Element) -> ET.Element:
    return list(route)[0]


def test_sasl_answers(router):
    r = router()
    comp = Component(r.host, r.port)
    comp.open()
    assert "SCRAM-SHA-256" in comp.mechanisms()
    assert "PLAIN" not in comp.mechanisms(), "PLAIN is only offered under TLS"
    assert "DIGEST-MD5" not in comp.mechanisms(), "DIGEST-MD5 only with jabberd2_compat"
    with pytest.raises(AuthFailed, match="not-authorized"):
        comp.authenticate("a", "wrong password")
    with pytest.raises(AuthFailed, match="encryption-required"):
        comp.authenticate("a", PASSWORD, mechanism="PLAIN")
    comp.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-UNKNOWN'/>")
    el = comp.next_element()
    assert el.find("{urn:ietf:params:xml:ns:xmpp-sasl}invalid-mechanism") is not None
    # Three failures are enough: the stream is closed with not-authorized.
    comp.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-UNKNOWN'/>")
    assert stream_error_condition(comp.next_element()) == "not-authorized"
    comp.wait_closed()
    comp.close()

    good = connect(r.host, r.port, "a", PASSWORD, "a")
    good.close()


def test_route_before_authentication_is_refused(router):
    r = router()
    comp = Component(r.host, r.port)
    comp.open()
    comp.route("a", "b", message("x@a", "y@b"))
    assert stream_error_condition(comp.next_element()) == "not-authorized"
    comp.wait_closed()


def test_bind_answers_and_advertisements(router):
    r = router(users={**users("a", "b"), "s2s": {"password": PASSWORD, "default_route": True}})
    a = connect(r.host, r.port, "a", PASSWORD, "a", "x.example", "y.example")
    b = Component(r.host, r.port)
    b.open()
    b.authenticate("b", PASSWORD)
    # The newly bound component hears about every existing name, once each.
    assert b.bind("b") is None
    told = set()
    for _ in range(3):
        el = b.expect(PRESENCE)
        assert el.get("from") not in told
        told.add(el.get("from"))
    assert told == {"a", "x.example", "y.example"}
    # a hears about b exactly once although it holds three names (jabberd2 sent one per name).
    adv = a.expect(PRESENCE)
    assert adv.get("from") == "b" and adv.get("type") is None
    a.route("b", "a", message("u@b", "v@a", id="after-adv"))
    assert payload_of(b.next_route()).get("id") == "after-adv"

    b.send(f"<bind xmlns='{NS_COMPONENT}'/>")
    assert b.expect(f"{{{NS_COMPONENT}}}bind").get("error") == "400"
    assert b.bind("not-allowed.other") == "403"
    assert b.bind("x.example") == "409"
    assert b.bind("q.example", default=True) == "403"
    b.send(f"<unbind xmlns='{NS_COMPONENT}' name='x.example'/>")
    assert b.expect(f"{{{NS_COMPONENT}}}unbind").get("error") == "404"
    b.send(f"<unbind xmlns='{NS_COMPONENT}' name='b'/>")
    reply = b.expect(f"{{{NS_COMPONENT}}}unbind")
    assert reply.get("error") is None and reply.get("name") is None
    gone = a.expect(PRESENCE)
    assert (gone.get("from"), gone.get("type")) == ("b", "unavailable")

    s2s = connect(r.host, r.port, "s2s", PASSWORD)
    assert s2s.bind("s2s", default=True) is None
    other = Component(r.host, r.port)
    other.open()
    other.authenticate("a", PASSWORD)
    assert other.bind("a") == "409"


def test_unicast_spoofing_bounces_and_default_route(router):
    r = router(users={**users("a", "b"), "s2s": {"password": PASSWORD, "default_route": True}})
    a = connect(r.host, r.port, "a", PASSWORD, "a")
    b = connect(r.host, r.port, "b", PASSWORD, "b")

    a.route("b", "a", message("bob@b/r", "al@a/r", body="hello"))
    got = b.next_route()
    assert (got.get("to"), got.get("from"), got.get("error")) == ("b", "a", None)
    assert payload_of(got).findtext(f"{{{NS_CLIENT}}}body") == "hello"

    # A from that the sender did not bind comes back untouched with error 401.
    a.route("b", "b", message("bob@b", "mallory@b", id="spoof"))
    bounce = a.next_route()
    assert (bounce.get("error"), bounce.get("from"), payload_of(bounce).get("id")) == ("401", "b", "spoof")

    # Nothing serves the domain and there is no default route: 404.
    a.route("nowhere.example", "a", message("x@nowhere.example", "al@a", id="lost"))
    bounce = a.next_route()
    assert (bounce.get("error"), payload_of(bounce).get("id")) == ("404", "lost")

    s2s = connect(r.host, r.port, "s2s", PASSWORD)
    assert s2s.bind("s2s", default=True) is None
    a.route("remote.example", "a", message("x@remote.example", "al@a", id="far"))
    assert payload_of(s2s.next_route()).get("id") == "far"
    # ...but the default route itself gets a 404 for an unknown domain, not its own packet back.
    s2s.route("elsewhere.example", "s2s", message("x@elsewhere.example", "y@s2s", id="loop"))
    assert s2s.next_route().get("error") == "404"


def test_multi_rendezvous_split_stays_put(router):
    names = ("sm1", "sm2", "sm3", "sender")
    r = router(users=users(*names))
    jids = [f"user{i}@example.org" for i in range(1000)]

    def distribute(members: dict[str, Component]) -> dict[str, str]:
        sender = connect(r.host, r.port, "sender", PASSWORD, "sender")
        for i, jid in enumerate(jids):
            sender.route("example.org", "sender", message(jid + "/res", "s@sender", id=str(i)))
        owner: dict[str, str] = {}
        remaining = len(jids)
        counts = {name: 0 for name in members}
        # Every member reads until all 1000 have arrived somewhere; each route arrives once.
        while remaining:
            progressed = False
            for name, comp in members.items():
                while comp.data_ready(0.05):
                    route = comp.next_route(5)
                    jid = payload_of(route).get("to").split("/")[0]
                    assert jid not in owner, f"{jid} delivered twice"
                    owner[jid] = name
                    counts[name] += 1
                    remaining -= 1
                    progressed = True
            if not progressed and not any(c.data_ready(5) for c in members.values()):
                raise AssertionError(f"{remaining} routes never arrived; counts {counts}")
        sender.close()
        return owner

    def member(name: str) -> Component:
        comp = connect(r.host, r.port, name, PASSWORD, name)
        assert comp.bind("example.org", multi=True) is None
        return comp

    sm1, sm2 = member("sm1"), member("sm2")
    first = distribute({"sm1": sm1, "sm2": sm2})
    share = collections.Counter(first.values())
    assert 400 <= share["sm1"] <= 600, share

    sm1.close()
    wait_gone(sm2, "sm1")  # before sm1 comes back, the router has forgotten the old connection
    sm1 = member("sm1")
    again = distribute({"sm1": sm1, "sm2": sm2})
    assert again == first, "a reconnect moved users"

    sm3 = member("sm3")
    third = distribute({"sm1": sm1, "sm2": sm2, "sm3": sm3})
    moved = [jid for jid in jids if third[jid] != first[jid]]
    assert all(third[jid] == "sm3" for jid in moved), "users moved between the old members"
    assert 250 <= len(moved) <= 420, len(moved)


def test_fanout_configured_copies_and_log_sinks(router):
    r = router(
        users={
            **users("a", "f1", "f2", "archive", "sm"),
            "logger": {"password": PASSWORD, "log": True},
        },
        routes={
            "fan.example": {"mode": "fanout"},
            "example.org": {"copy_to": ["archive"]},
        },
    )
    f1 = connect(r.host, r.port, "f1", PASSWORD, "f1", "fan.example")
    f2 = connect(r.host, r.port, "f2", PASSWORD, "f2", "fan.example")
    archive = connect(r.host, r.port, "archive", PASSWORD, "archive")
    sm = connect(r.host, r.port, "sm", PASSWORD, "example.org")
    logger = connect(r.host, r.port, "logger", PASSWORD)
    assert logger.bind("logger", log=True) is None
    a = connect(r.host, r.port, "a", PASSWORD, "a")

    a.route("fan.example", "a", message("room@fan.example", "u@a", id="fan"))
    assert payload_of(f1.next_route()).get("id") == "fan"
    assert payload_of(f2.next_route()).get("id") == "fan"

    a.route("example.org", "a", message("bob@example.org", "u@a", id="copy"))
    assert payload_of(sm.next_route()).get("id") == "copy"
    assert payload_of(archive.next_route()).get("id") == "copy"

    # The log sink saw both unicast routes, once each, marked type='log'.
    logged = logger.routes_until_quiet(2)
    assert [(l.get("type"), payload_of(l).get("id")) for l in logged] == [("log", "fan"), ("log", "copy")]
    assert not logger.data_ready(0.3)


def test_aliases_filters_broadcast_and_throttle(router):
    r = router(
        users=users("a", "b", "c"),
        aliases={"alias.example": "b"},
        filters=[
            {"to": "*@blocked.example", "action": "deny", "error": "not-allowed"},
            {"to": "*@moved.example", "action": "redirect", "redirect": "c"},
        ],
    )
    a = connect(r.host, r.port, "a", PASSWORD, "a")
    b = connect(r.host, r.port, "b", PASSWORD, "b")
    c = connect(r.host, r.port, "c", PASSWORD, "c")

    a.route("alias.example", "a", message("x@alias.example", "u@a", id="via-alias"))
    assert payload_of(b.next_route()).get("id") == "via-alias"
    # b may speak as its alias.
    b.route("a", "alias.example", message("u@a", "x@alias.example", id="from-alias"))
    assert payload_of(a.next_route()).get("id") == "from-alias"

    a.route("blocked.example", "a", message("x@blocked.example", "u@a", id="deny"))
    bounce = a.next_route()
    assert (bounce.get("error"), payload_of(bounce).get("id")) == ("405", "deny")

    a.route("moved.example", "a", message("x@moved.example", "u@a", id="redirect"))
    assert payload_of(c.next_route()).get("id") == "redirect"

    a.route("", "a", message("", "u@a", id="all"), type="broadcast")
    assert payload_of(b.next_route()).get("id") == "all"
    assert payload_of(c.next_route()).get("id") == "all"

    b.send(f"<throttle xmlns='{NS_COMPONENT}'/>")
    b.expect(f"{{{NS_COMPONENT}}}throttle")
    for i in range(3):
        a.route("b", "a", message("x@b", "u@a", id=f"held{i}"))
    # Held while throttled: c's traffic still flows, and b gets nothing until it toggles back.
    a.route("c", "a", message("x@c", "u@a", id="flows"))
    assert payload_of(c.next_route()).get("id") == "flows"
    assert not b.data_ready(0.3)
    b.send(f"<throttle xmlns='{NS_COMPONENT}'/>")
    b.expect(f"{{{NS_COMPONENT}}}throttle")
    assert [payload_of(x).get("id") for x in b.routes_until_quiet(3)] == ["held0", "held1", "held2"]


BAD_INPUTS = {
    "malformed": ("<route xmlns='" + NS_COMPONENT + "' to='b' from='a'><message></route>", "not-well-formed"),
    "dtd": ("<!DOCTYPE foo [<!ENTITY x 'y'>]>", "restricted-xml"),
    "comment": ("<!-- hello -->", "restricted-xml"),
    "oversized": (
        f"<route xmlns='{NS_COMPONENT}' to='b' from='a'>"
        + message("x@b", "u@a", body="x" * 70_000)
        + "</route>",
        "policy-violation",
    ),
    "foreign": ("<message xmlns='jabber:client' to='b'/>", "unsupported-stanza-type"),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_closes_only_that_stream(router, kind):
    r = router(users=users("a", "b", "c"), limits={"max_stanza_bytes": 65536})
    a = connect(r.host, r.port, "a", PASSWORD, "a")
    b = connect(r.host, r.port, "b", PASSWORD, "b")
    bad = connect(r.host, r.port, "c", PASSWORD, "c")
    data, condition = BAD_INPUTS[kind]
    bad.send(data)
    assert stream_error_condition(bad.expect(f"{{http://etherx.jabber.org/streams}}error")) == condition
    bad.wait_closed()
    assert bad.stream_ended or bad.closed
    wait_gone(a, "c")
    a.route("b", "a", message("x@b", "u@a", id="still-works"))
    assert payload_of(b.next_route()).get("id") == "still-works"


def test_component_that_never_reads_is_disconnected(router):
    r = router(users=users("a", "b", "c", "flooder"), limits={"max_queue_bytes": 262144})
    a = connect(r.host, r.port, "a", PASSWORD, "a")
    b = connect(r.host, r.port, "b", PASSWORD, "b")
    stuck = connect(r.host, r.port, "c", PASSWORD, "c")
    stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    flooder = connect(r.host, r.port, "flooder", PASSWORD, "flooder")
    body = "y" * 1000
    # Far more than the queue limit plus what the kernel buffers on both sides; stop as soon as
    # the router has given up on c (it advertises c as gone to the bystander a).
    gone = False
    for i in range(20_000):
        if not flooder.send(route_xml("c", "flooder", message("x@c", "u@flooder", body=body, id=str(i)))):
            break
        while not gone and a.data_ready(0):
            el = a.next_element()
            gone = el.tag == PRESENCE and (el.get("from"), el.get("type")) == ("c", "unavailable")
        if gone:
            break
    if not gone:
        wait_gone(a, "c")
    # The bystanders a and b still exchange packets.
    a.route("b", "a", message("x@b", "u@a", id="alive"))
    assert payload_of(b.next_route()).get("id") == "alive"
    # Whatever c reads now ends in a closed connection.
    with pytest.raises((StreamClosed, ConnectionError)):
        while True:
            stuck.next_element(10)


def route_xml(to: str, frm: str, payload: str) -> str:
    return f"<route xmlns='{NS_COMPONENT}' to='{to}' from='{frm}'>{payload}</route>"


def test_raw_garbage_before_header(router):
    r = router()
    with RawStream(r.host, r.port) as s:
        s.send("this is not xml")
        s.read_header()
        assert stream_error_condition(s.next_element()) == "not-well-formed"
        s.wait_closed()
