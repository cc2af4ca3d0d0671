"""SASL on the all-Starling stack, over raw sockets: the RFC 6120 §6.5 failure conditions, the
delay before a failure, the per-connection retry limit (§6.4.5), per-IP and per-account limits on
failed logins, the XEP-0077 registration limit, SCRAM-SHA-1/-256/-512 done by hand (RFC 5802,
RFC 7677), and stanzas before authentication (RFC 6120 §4.9.3.14)."""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET

import pytest

from helpers.c2s_stack import NS_BIND, NS_REGISTER, NS_SASL, NS_TLS, open_stream, plain_auth, raw_tls
from helpers.hosts_stack import start_c2s_hosts, start_router_and_sm
from helpers.ports import LOOPBACK
from helpers.rawxmpp import RawStream, stream_error_condition
from helpers.scram import scram_auth
from helpers.stack import DOMAIN, start_stack

NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
PLAIN_ALICE = "\0alice\0alice-pw"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def failure(el: ET.Element) -> str:
    """The condition of a SASL <failure/>; fails the test on anything else."""
    assert el.tag == f"{{{NS_SASL}}}failure", ET.tostring(el)
    return next(c.tag.split("}", 1)[1] for c in el if not c.tag.endswith("}text"))


def stream_error_then_close(s: RawStream) -> str:
    while True:
        cond = stream_error_condition(s.next_element())
        if cond is not None:
            break
    s.wait_closed()
    assert s.stream_ended or s.closed
    return cond


def register_raw(stack, user: str, password: str) -> ET.Element:
    """XEP-0077 registration on a connection of its own; returns the IQ answer."""
    s, _ = raw_tls(*stack.c2s)
    with s:
        s.send(f"<iq type='set' id='reg'><query xmlns='{NS_REGISTER}'><username>{user}</username>"
               f"<password>{password}</password></query></iq>")
        return s.next_element(timeout=30)


def registered(stack, *users: str) -> None:
    for user in users:
        answer = register_raw(stack, user, f"{user}-pw")
        assert answer.get("type") == "result", ET.tostring(answer)


def plain_once(stack, user: str, password: str) -> ET.Element:
    s, _ = raw_tls(*stack.c2s)
    with s:
        return plain_auth(s, user, password)


@pytest.fixture
def stack(workdir, processes):
    stack = start_stack(workdir, processes, c2s_limits={"auth_failure_delay_ms": 50, "max_auth_attempts": 5})
    registered(stack, "alice", "bob")
    return stack


# -- RFC 6120 §6.5 failure conditions ------------------------------------------------------


def test_wrong_password_is_not_authorized_and_a_retry_may_succeed(stack):
    s, _ = raw_tls(*stack.c2s)
    with s:
        assert failure(plain_auth(s, "alice", "wrong")) == "not-authorized"
        assert failure(plain_auth(s, "nobody", "wrong")) == "not-authorized"
        assert plain_auth(s, "alice", "alice-pw").tag == f"{{{NS_SASL}}}success"


@pytest.mark.parametrize("mechanism", ["X-NOT-A-MECHANISM", "DIGEST-MD5", "CRAM-MD5", ""])
def test_unknown_or_unoffered_mechanism_is_invalid_mechanism(stack, mechanism):
    s, _ = raw_tls(*stack.c2s)
    with s:
        s.send(f"<auth xmlns='{NS_SASL}' mechanism='{mechanism}'>{b64(PLAIN_ALICE)}</auth>")
        assert failure(s.next_element()) == "invalid-mechanism"
        assert plain_auth(s, "alice", "alice-pw").tag == f"{{{NS_SASL}}}success"


def test_malformed_base64_is_incorrect_encoding(stack):
    s, _ = raw_tls(*stack.c2s)
    with s:
        s.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>!!not*base64!!</auth>")
        assert failure(s.next_element()) == "incorrect-encoding"


def test_malformed_base64_in_a_response_is_incorrect_encoding(stack):
    s, _ = raw_tls(*stack.c2s)
    with s:
        s.send(f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-256'>{b64('n,,n=alice,r=abcdefghijkl')}</auth>")
        assert s.next_element().tag == f"{{{NS_SASL}}}challenge"
        s.send(f"<response xmlns='{NS_SASL}'>%%%</response>")
        assert failure(s.next_element()) == "incorrect-encoding"


def test_abort_during_an_exchange_is_aborted(stack):
    s, _ = raw_tls(*stack.c2s)
    with s:
        s.send(f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-256'>{b64('n,,n=alice,r=abcdefghijkl')}</auth>")
        assert s.next_element().tag == f"{{{NS_SASL}}}challenge"
        s.send(f"<abort xmlns='{NS_SASL}'/>")
        assert failure(s.next_element()) == "aborted"
        assert plain_auth(s, "alice", "alice-pw").tag == f"{{{NS_SASL}}}success"


def test_authzid_of_someone_else_is_invalid_authzid(stack):
    s, _ = raw_tls(*stack.c2s)
    with s:
        data = b64(f"bob@{DOMAIN}\0alice\0alice-pw")
        s.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{data}</auth>")
        assert failure(s.next_element()) == "invalid-authzid"
        outcome = scram_auth(s, "SCRAM-SHA-256", "alice", "alice-pw", authzid=f"bob@{DOMAIN}")
        assert outcome.condition == "invalid-authzid"


def test_authzid_of_oneself_is_accepted(stack):
    s, _ = raw_tls(*stack.c2s)
    with s:
        data = b64(f"alice@{DOMAIN}\0alice\0alice-pw")
        s.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{data}</auth>")
        assert s.next_element().tag == f"{{{NS_SASL}}}success"


def test_plain_is_neither_offered_nor_accepted_before_tls(stack):
    with RawStream(*stack.c2s) as s:
        features = open_stream(s)
        assert features.find(f"{{{NS_SASL}}}mechanisms") is None
        assert features.find(f"{{{NS_TLS}}}starttls/{{{NS_TLS}}}required") is not None
        # RFC 6120 §6.5.4: the mechanism needs a protected stream.
        s.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{b64(PLAIN_ALICE)}</auth>")
        assert failure(s.next_element()) == "encryption-required"


def test_without_required_starttls_plaintext_offers_scram_but_never_plain(workdir, processes):
    router = start_router_and_sm(workdir, processes, [DOMAIN])
    c2s = start_c2s_hosts(workdir, processes, router, {DOMAIN: {"require_starttls": False, "registration": True}})
    with RawStream(LOOPBACK, c2s.port) as s:
        features = open_stream(s)
        starttls = features.find(f"{{{NS_TLS}}}starttls")
        assert starttls is not None and starttls.find(f"{{{NS_TLS}}}required") is None
        offered = [m.text for m in features.find(f"{{{NS_SASL}}}mechanisms")]
        assert "SCRAM-SHA-256" in offered and "PLAIN" not in offered
        assert not any(m.endswith("-PLUS") for m in offered)
        s.send(f"<iq type='set' id='reg'><query xmlns='{NS_REGISTER}'><username>carol</username>"
               f"<password>carol-pw</password></query></iq>")
        assert s.next_element(timeout=30).get("type") == "result"
        assert failure(plain_auth(s, "carol", "carol-pw")) == "encryption-required"
        outcome = scram_auth(s, "SCRAM-SHA-256", "carol", "carol-pw")
        assert outcome.success and outcome.server_signature_ok


def test_a_failure_comes_only_after_the_configured_delay(workdir, processes):
    delay = 0.8
    stack = start_stack(workdir, processes, c2s_limits={"auth_failure_delay_ms": int(delay * 1000)})
    registered(stack, "alice")
    s, _ = raw_tls(*stack.c2s)
    with s:
        for attempt in (lambda: plain_auth(s, "alice", "wrong"),
                        lambda: scram_auth(s, "SCRAM-SHA-256", "alice", "wrong").element):
            started = time.monotonic()
            answer = attempt()
            elapsed = time.monotonic() - started
            assert failure(answer) == "not-authorized"
            assert elapsed >= delay, f"failure after {elapsed:.3f}s, configured delay {delay}s"


def test_too_many_failures_on_one_connection_close_it_with_policy_violation(workdir, processes):
    stack = start_stack(workdir, processes, c2s_limits={"auth_failure_delay_ms": 20, "max_auth_attempts": 3})
    registered(stack, "alice")
    s, _ = raw_tls(*stack.c2s)
    with s:
        assert failure(plain_auth(s, "alice", "wrong1")) == "not-authorized"
        assert failure(plain_auth(s, "alice", "wrong2")) == "not-authorized"
        assert failure(plain_auth(s, "alice", "wrong3")) == "not-authorized"
        # RFC 6120 §6.4.5: past the retries allowed, a stream error, policy-violation.
        assert stream_error_then_close(s) == "policy-violation"
    assert plain_once(stack, "alice", "alice-pw").tag == f"{{{NS_SASL}}}success"


# -- limits across connections -------------------------------------------------------------


def test_failures_per_ip_lock_out_even_the_right_password(workdir, processes):
    stack = start_stack(workdir, processes, c2s_limits={
        "auth_failure_delay_ms": 20, "auth_failures_per_ip": 3, "auth_failures_per_account": 100})
    registered(stack, "alice", "bob")
    for user in ("alice", "bob", "nobody"):
        assert failure(plain_once(stack, user, "wrong")) == "not-authorized"
    for user in ("alice", "bob"):
        assert failure(plain_once(stack, user, f"{user}-pw")) == "temporary-auth-failure"
    s, _ = raw_tls(*stack.c2s)
    with s:
        assert scram_auth(s, "SCRAM-SHA-256", "alice", "alice-pw").condition == "temporary-auth-failure"


def test_failures_per_account_lock_out_that_account_only(workdir, processes):
    stack = start_stack(workdir, processes, c2s_limits={
        "auth_failure_delay_ms": 20, "auth_failures_per_ip": 100, "auth_failures_per_account": 2})
    registered(stack, "alice", "bob")
    assert failure(plain_once(stack, "alice", "wrong")) == "not-authorized"
    s, _ = raw_tls(*stack.c2s)
    with s:
        assert scram_auth(s, "SCRAM-SHA-256", "alice", "wrong").condition == "not-authorized"
    assert failure(plain_once(stack, "alice", "alice-pw")) == "temporary-auth-failure"
    assert plain_once(stack, "bob", "bob-pw").tag == f"{{{NS_SASL}}}success"


# -- XEP-0077 registration limit -----------------------------------------------------------


def test_registrations_per_ip_are_limited_when_loopback_is_not_exempt(workdir, processes):
    stack = start_stack(workdir, processes, c2s_limits={
        "registrations_per_ip": 2, "registration_exempt_loopback": False})
    registered(stack, "reg1", "reg2")
    answer = register_raw(stack, "reg3", "reg3-pw")
    assert answer.get("type") == "error", ET.tostring(answer)
    # XEP-0077 §3.1.1: too many registrations get <not-acceptable/>.
    assert answer.find(f"{{jabber:client}}error/{{{NS_STANZAS}}}not-acceptable") is not None, ET.tostring(answer)
    assert failure(plain_once(stack, "reg3", "reg3-pw")) == "not-authorized"
    assert plain_once(stack, "reg2", "reg2-pw").tag == f"{{{NS_SASL}}}success"


def test_loopback_is_exempt_from_the_registration_limit_by_default(workdir, processes):
    stack = start_stack(workdir, processes, c2s_limits={"registrations_per_ip": 2})
    registered(stack, "reg1", "reg2", "reg3", "reg4")
    assert plain_once(stack, "reg4", "reg4-pw").tag == f"{{{NS_SASL}}}success"


# -- SCRAM by hand ---------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_logs_in_and_proves_the_server_knows_the_password(stack, mechanism):
    s, features = raw_tls(*stack.c2s)
    with s:
        assert mechanism in [m.text for m in features.find(f"{{{NS_SASL}}}mechanisms")]
        outcome = scram_auth(s, mechanism, "alice", "alice-pw")
        assert outcome.success and outcome.server_signature_ok, ET.tostring(outcome.element)
        open_stream(s)
        s.send(f"<iq type='set' id='b'><bind xmlns='{NS_BIND}'><resource>{mechanism}</resource></bind></iq>")
        jid = s.next_element().find(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}jid").text
        assert jid == f"alice@{DOMAIN}/{mechanism}"


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_with_a_wrong_password_is_not_authorized(stack, mechanism):
    s, _ = raw_tls(*stack.c2s)
    with s:
        assert scram_auth(s, mechanism, "alice", "wrong").condition == "not-authorized"


# -- RFC 6120 §4.9.3.14: nothing before authentication ---------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["plaintext", "tls"])
@pytest.mark.parametrize("stanza", [
    "<message to='bob@localhost'><body>hi</body></message>",
    "<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>",
    "<presence/>",
], ids=["message", "iq", "presence"])
def test_a_stanza_before_authentication_is_not_authorized(stack, tls, stanza):
    if tls:
        s, _ = raw_tls(*stack.c2s)
    else:
        s = RawStream(*stack.c2s)
        open_stream(s)
    with s:
        s.send(stanza)
        assert stream_error_then_close(s) == "not-authorized"
