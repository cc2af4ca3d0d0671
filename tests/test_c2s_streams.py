"""starling-c2s stream errors and negotiation rules, over raw sockets (RFC 6120 §4–§7, XEP-0077).

c2s runs with jabberd2's sm on starling-router (see test_c2s_jabberd2_sm.py), except where the
point is that no sm is there.
"""

from __future__ import annotations

import signal
import xml.etree.ElementTree as ET

import pytest

from helpers.c2s_stack import (
    DOMAIN,
    NS_REGISTER,
    NS_SASL,
    NS_TLS,
    open_stream,
    plain_auth,
    raw_login,
    raw_tls,
    register_tls,
    router_config,
    start_c2s,
    start_sm,
)
from helpers.ports import free_port
from helpers.rawxmpp import NS_STREAM, RawStream, StreamClosed, stream_error_condition
from helpers.xmpp import run_async


@pytest.fixture
def router(starling_router):
    return starling_router(router_config(free_port()))


@pytest.fixture
def stack(router, jabberd2, workdir, processes):
    sm = start_sm(jabberd2, router)
    return start_c2s(workdir, processes, router, limits={"max_stanza_bytes": 8192})


def expect_stream_error(s: RawStream, condition: str) -> None:
    while True:
        el = s.next_element()
        got = stream_error_condition(el)
        if got is not None:
            assert got == condition, ET.tostring(el)
            break
    s.wait_closed()
    assert s.stream_ended or s.closed


def header(to: str = DOMAIN, xmlns: str = "jabber:client", version: str = "1.0") -> str:
    return (f"<?xml version='1.0'?><stream:stream xmlns:stream='{NS_STREAM}' xmlns='{xmlns}' "
            f"to='{to}' version='{version}'>")


def test_features_before_tls_offer_only_required_starttls(stack):
    with RawStream(stack.host, stack.port) as s:
        features = open_stream(s)
        assert s.header.get("from") == DOMAIN and s.header.get("version") == "1.0" and s.header.get("id")
        assert [c.tag for c in features] == [f"{{{NS_TLS}}}starttls"]
        assert features[0].find(f"{{{NS_TLS}}}required") is not None
    s, features = raw_tls(stack.host, stack.port)
    with s:
        mechs = [m.text for m in features.find(f"{{{NS_SASL}}}mechanisms")]
        assert "SCRAM-SHA-256-PLUS" in mechs and "SCRAM-SHA-256" in mechs and "PLAIN" in mechs
        cb = features.find("{urn:xmpp:sasl-cb:0}sasl-channel-binding")
        assert cb is not None and "tls-exporter" in [c.get("type") for c in cb]
        assert features.find("{http://jabber.org/features/iq-register}register") is not None


def test_unknown_domain_is_host_unknown(stack):
    with RawStream(stack.host, stack.port) as s:
        s.send(header(to="nowhere.example"))
        s.read_header()
        expect_stream_error(s, "host-unknown")


def test_wrong_content_namespace_is_invalid_namespace(stack):
    with RawStream(stack.host, stack.port) as s:
        s.send(header(xmlns="jabber:server"))
        s.read_header()
        expect_stream_error(s, "invalid-namespace")


@pytest.mark.parametrize(
    "data,condition",
    [
        ("<message><body></message>", "not-well-formed"),
        ("<!-- a comment -->", "restricted-xml"),
        ("<message to='x@localhost'><body>" + "x" * 20000 + "</body></message>", "policy-violation"),
        ("<message to='bob@localhost'><body>hi</body></message>", "not-authorized"),
        ("<foo/>", "unsupported-stanza-type"),
    ],
    ids=["not-well-formed", "restricted-xml", "oversized", "stanza-before-auth", "unknown-element"],
)
def test_bad_input_gets_its_stream_error(stack, data, condition):
    with RawStream(stack.host, stack.port) as s:
        open_stream(s)
        s.send(data)
        expect_stream_error(s, condition)


def test_stream_close_is_answered(stack):
    with RawStream(stack.host, stack.port) as s:
        open_stream(s)
        s.send("</stream:stream>")
        s.wait_closed()
        assert s.stream_ended


def test_pipelined_data_after_starttls_is_refused(stack):
    with RawStream(stack.host, stack.port) as s:
        open_stream(s)
        s.send(f"<starttls xmlns='{NS_TLS}'/><iq type='get' id='evil'><query xmlns='{NS_REGISTER}'/></iq>")
        el = s.next_element()
        assert el.tag == f"{{{NS_TLS}}}failure", ET.tostring(el)
        s.wait_closed()


def test_wrong_password_gets_not_authorized_failure(stack):
    run_async(register_tls(stack.host, stack.port, f"gina@{DOMAIN}", "right"), timeout=30)
    s, _ = raw_tls(stack.host, stack.port)
    with s:
        answer = plain_auth(s, "gina", "wrong")
        assert answer.tag == f"{{{NS_SASL}}}failure"
        assert answer[0].tag == f"{{{NS_SASL}}}not-authorized"
        answer = plain_auth(s, "gina", "right")
        assert answer.tag == f"{{{NS_SASL}}}success"


def test_spoofed_from_is_invalid_from(stack):
    run_async(register_tls(stack.host, stack.port, f"hank@{DOMAIN}", "pw"), timeout=30)
    with raw_login(stack.host, stack.port, "hank", "pw", "r1") as s:
        s.send("<message from='mallory@localhost/x' to='hank@localhost'><body>spoof</body></message>")
        expect_stream_error(s, "invalid-from")


def test_pipelined_stanzas_after_bind_are_processed(stack):
    run_async(register_tls(stack.host, stack.port, f"ivy@{DOMAIN}", "pw"), timeout=30)
    s, _ = raw_tls(stack.host, stack.port)
    with s:
        assert plain_auth(s, "ivy", "pw").tag == f"{{{NS_SASL}}}success"
        open_stream(s)
        s.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"
               "<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>"
               "<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        answers = {}
        while len(answers) < 3:
            el = s.next_element()
            assert stream_error_condition(el) is None, ET.tostring(el)
            answers[el.get("id")] = el
        assert answers["b1"].get("type") == "result"
        jid = answers["b1"].find("{urn:ietf:params:xml:ns:xmpp-bind}bind/{urn:ietf:params:xml:ns:xmpp-bind}jid").text
        assert jid.startswith("ivy@localhost/")
        assert answers["s1"].get("type") == "result"


def test_registration_rejects_bad_usernames_and_empty_passwords(stack):
    s, _ = raw_tls(stack.host, stack.port)
    with s:
        s.send(f"<iq type='get' id='f'><query xmlns='{NS_REGISTER}'/></iq>")
        form = s.next_element()
        q = form.find(f"{{{NS_REGISTER}}}query")
        assert q.find(f"{{{NS_REGISTER}}}username") is not None and q.find(f"{{{NS_REGISTER}}}password") is not None
        for i, (user, pw) in enumerate([("bad user", "pw"), ("ok", ""), ("a@b", "pw")]):
            s.send(f"<iq type='set' id='r{i}'><query xmlns='{NS_REGISTER}'><username>{user}</username>"
                   f"<password>{pw}</password></query></iq>")
            answer = s.next_element()
            assert answer.get("type") == "error", ET.tostring(answer)
            assert answer.find("{*}error/{urn:ietf:params:xml:ns:xmpp-stanzas}not-acceptable") is not None


def test_password_change_and_account_removal(stack):
    run_async(register_tls(stack.host, stack.port, f"jack@{DOMAIN}", "old"), timeout=30)
    with raw_login(stack.host, stack.port, "jack", "old", "r") as s:
        s.send(f"<iq type='set' id='pw'><query xmlns='{NS_REGISTER}'><username>jack</username>"
               f"<password>new</password></query></iq>")
        assert s.next_element().get("type") == "result"
    with raw_login(stack.host, stack.port, "jack", "new", "r") as s:
        s.send(f"<iq type='set' id='rm'><query xmlns='{NS_REGISTER}'><remove/></query></iq>")
        assert s.next_element().get("type") == "result"
        s.wait_closed()
    s, _ = raw_tls(stack.host, stack.port)
    with s:
        assert plain_auth(s, "jack", "new").tag == f"{{{NS_SASL}}}failure"


def test_no_sm_means_host_gone(router, workdir, processes):
    c2s = start_c2s(workdir, processes, router, wait_ready=False)
    with RawStream(c2s.host, c2s.port) as s:
        s.send(header())
        s.read_header()
        expect_stream_error(s, "host-gone")


def test_idle_client_gets_connection_timeout(router, jabberd2, workdir, processes):
    start_sm(jabberd2, router)
    c2s = start_c2s(workdir, processes, router, limits={"idle_timeout": 1})
    with RawStream(c2s.host, c2s.port) as s:
        open_stream(s)
        expect_stream_error(s, "connection-timeout")


def test_sigterm_closes_streams_with_system_shutdown(stack):
    with RawStream(stack.host, stack.port) as s:
        open_stream(s)
        stack.process.popen.send_signal(signal.SIGTERM)
        expect_stream_error(s, "system-shutdown")
    assert stack.process.popen.wait(timeout=10) == 0
