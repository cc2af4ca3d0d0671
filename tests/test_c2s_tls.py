"""TLS at starling-c2s on the all-Starling stack, over raw sockets: SCRAM-*-PLUS with the RFC 5929
`tls-server-end-point` channel binding done by hand and its XEP-0440 advertisement, listeners
(IPv6, XEP-0368 direct TLS with ALPN), per-domain certificates from PEM files chosen by SNI or by
the stream's `to`, and the self-signed certificate made on first start and kept."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from helpers.c2s_stack import (NS_BIND, NS_REGISTER, NS_SASL, NS_TLS, open_stream, plain_auth, raw_tls, start_c2s,
                               tls_client)
from helpers.certs import dns_names, write_self_signed
from helpers.hosts_stack import (LOOPBACK6, direct_tls, no_verify, peer_der, start_c2s_hosts, start_router_and_sm,
                                 starttls_with)
from helpers.ports import LOOPBACK
from helpers.rawxmpp import RawStream
from helpers.scram import scram_auth, tls_server_end_point
from helpers.stack import C2S_PASSWORD, C2S_USER, DOMAIN, STORE, register, start_stack
from helpers.xmpp import run_async

NS_SASL_CB = "urn:xmpp:sasl-cb:0"
OTHER = "other.test"
END_POINT = "tls-server-end-point"


def mechanisms(features: ET.Element) -> list[str]:
    return [m.text for m in features.find(f"{{{NS_SASL}}}mechanisms")]


def binding_types(features: ET.Element) -> set[str]:
    cb = features.find(f"{{{NS_SASL_CB}}}sasl-channel-binding")
    return set() if cb is None else {c.get("type") for c in cb}


def bind(s: RawStream, domain: str, resource: str) -> str:
    """After SASL success: restart the stream, bind `resource`, return the bound JID."""
    open_stream(s, domain)
    s.send(f"<iq type='set' id='b'><bind xmlns='{NS_BIND}'><resource>{resource}</resource></bind></iq>")
    answer = s.next_element()
    assert answer.get("type") == "result", ET.tostring(answer)
    return answer.find(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}jid").text


def register_raw(s: RawStream, user: str, password: str) -> None:
    s.send(f"<iq type='set' id='reg'><query xmlns='{NS_REGISTER}'><username>{user}</username>"
           f"<password>{password}</password></query></iq>")
    answer = s.next_element(timeout=30)
    assert answer.get("type") == "result", ET.tostring(answer)


def scram_plus(s: RawStream, user: str, password: str, mechanism: str = "SCRAM-SHA-256-PLUS"):
    """SCRAM-*-PLUS bound to the certificate this connection was actually shown."""
    return scram_auth(s, mechanism, user, password, cb_type=END_POINT,
                      cb_data=tls_server_end_point(peer_der(s)))


@pytest.fixture
def stack(workdir, processes):
    stack = start_stack(workdir, processes, c2s_limits={"auth_failure_delay_ms": 20, "max_auth_attempts": 5})
    run_async(register(stack, "alice"), timeout=30)
    return stack


def stls(stack, *, tls12: bool = False) -> tuple[RawStream, ET.Element]:
    s = RawStream(*stack.c2s)
    return s, starttls_with(s, DOMAIN, no_verify(tls12=tls12), DOMAIN)


# -- XEP-0440 advertisement ----------------------------------------------------------------


def test_tls13_advertises_tls_exporter_and_tls_server_end_point(stack):
    s, features = stls(stack)
    with s:
        assert s.sock.version() == "TLSv1.3"
        assert binding_types(features) == {"tls-exporter", END_POINT}
        assert {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-512-PLUS", "SCRAM-SHA-1-PLUS"} <= set(mechanisms(features))


def test_tls12_advertises_tls_server_end_point_only(stack):
    # RFC 9266 §3: tls-exporter is not safe on TLS 1.2 without extended master secret.
    s, features = stls(stack, tls12=True)
    with s:
        assert s.sock.version() == "TLSv1.2"
        assert binding_types(features) == {END_POINT}
        assert "SCRAM-SHA-256-PLUS" in mechanisms(features)


# -- SCRAM-*-PLUS with tls-server-end-point ------------------------------------------------


@pytest.mark.parametrize("tls12", [False, True], ids=["tls1.3", "tls1.2"])
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512-PLUS"])
def test_scram_plus_with_tls_server_end_point_logs_in(stack, mechanism, tls12):
    s, _ = stls(stack, tls12=tls12)
    with s:
        outcome = scram_plus(s, "alice", "alice-pw", mechanism)
        assert outcome.success and outcome.server_signature_ok, ET.tostring(outcome.element)
        assert bind(s, DOMAIN, "plus") == f"alice@{DOMAIN}/plus"


def test_scram_plus_with_wrong_binding_data_is_not_authorized(stack):
    s, _ = stls(stack)
    with s:
        wrong = bytes(b ^ 0xFF for b in tls_server_end_point(peer_der(s)))
        outcome = scram_auth(s, "SCRAM-SHA-256-PLUS", "alice", "alice-pw", cb_type=END_POINT, cb_data=wrong)
        assert outcome.condition == "not-authorized"


def test_scram_plus_with_an_unoffered_binding_type_is_not_authorized(stack):
    s, _ = stls(stack)
    with s:
        outcome = scram_auth(s, "SCRAM-SHA-256-PLUS", "alice", "alice-pw", cb_type="tls-unique",
                             cb_data=tls_server_end_point(peer_der(s)))
        assert outcome.condition == "not-authorized"


def test_a_client_claiming_the_server_cannot_bind_is_refused(stack):
    # RFC 5802 §6: flag 'y' while the server offers -PLUS means a downgrade: fail.
    s, _ = stls(stack)
    with s:
        assert scram_auth(s, "SCRAM-SHA-256", "alice", "alice-pw", flag="y").condition == "not-authorized"
        outcome = scram_auth(s, "SCRAM-SHA-256", "alice", "alice-pw", flag="n")
        assert outcome.success and outcome.server_signature_ok


# -- listeners --------------------------------------------------------------------------------


def test_ipv6_listener_serves_logins(workdir, processes):
    router = start_router_and_sm(workdir, processes, [DOMAIN])
    c2s = start_c2s_hosts(workdir, processes, router, {DOMAIN: {"registration": True}}, ipv6=True)
    s, _ = raw_tls(LOOPBACK6, c2s.port6)
    with s:
        assert s.sock.getpeername()[0] == LOOPBACK6
        register_raw(s, "six", "six-pw")
        assert plain_auth(s, "six", "six-pw").tag == f"{{{NS_SASL}}}success"
        assert bind(s, DOMAIN, "v6") == f"six@{DOMAIN}/v6"
    s, _ = raw_tls(LOOPBACK, c2s.port)
    with s:
        assert plain_auth(s, "six", "six-pw").tag == f"{{{NS_SASL}}}success"


def test_direct_tls_negotiates_alpn_xmpp_client_and_logs_in(stack):
    port = stack.c2s_daemon.tls_port
    s, features = direct_tls(LOOPBACK, port, DOMAIN, no_verify(alpn=["xmpp-client"]), DOMAIN)
    with s:
        assert s.sock.selected_alpn_protocol() == "xmpp-client"
        assert features.find(f"{{{NS_TLS}}}starttls") is None
        assert binding_types(features) == {"tls-exporter", END_POINT}
        outcome = scram_plus(s, "alice", "alice-pw")
        assert outcome.success and outcome.server_signature_ok, ET.tostring(outcome.element)
        assert bind(s, DOMAIN, "direct") == f"alice@{DOMAIN}/direct"

    async def slixmpp_direct():
        async with tls_client(LOOPBACK, port, f"alice@{DOMAIN}/slix", "alice-pw", direct=True) as client:
            assert str(client.boundjid) == f"alice@{DOMAIN}/slix"

    run_async(slixmpp_direct(), timeout=30)


# -- certificates -----------------------------------------------------------------------------


@pytest.fixture
def two_domains(workdir, processes):
    """One sm and one c2s serving localhost and other.test, each with its certificate and key in
    separate PEM files; alice registered on both."""
    hosts = {}
    for domain in (DOMAIN, OTHER):
        cert, key = write_self_signed(workdir / "pem", domain)
        hosts[domain] = {"certificate": str(cert), "key": str(key), "registration": True}
    router = start_router_and_sm(workdir, processes, [DOMAIN, OTHER])
    c2s = start_c2s_hosts(workdir, processes, router, hosts)
    for domain in (DOMAIN, OTHER):
        s = RawStream(LOOPBACK, c2s.port)
        with s:
            starttls_with(s, domain, no_verify(), domain)
            register_raw(s, "alice", f"alice-{domain}")
    return c2s


@pytest.mark.parametrize("domain", [DOMAIN, OTHER])
def test_the_certificate_is_chosen_by_sni(two_domains, domain):
    for name in (DOMAIN, OTHER):
        # SNI wins over the stream's `to`, for STARTTLS and for direct TLS.
        s = RawStream(LOOPBACK, two_domains.port)
        with s:
            starttls_with(s, name, no_verify(), domain)
            assert dns_names(peer_der(s)) == [domain]
        s, _ = direct_tls(LOOPBACK, two_domains.tls_port, name, no_verify(alpn=["xmpp-client"]), domain)
        with s:
            assert dns_names(peer_der(s)) == [domain]


@pytest.mark.parametrize("domain", [DOMAIN, OTHER])
def test_without_sni_starttls_presents_the_certificate_of_the_stream_domain(two_domains, domain):
    s = RawStream(LOOPBACK, two_domains.port)
    with s:
        starttls_with(s, domain, no_verify(), None)
        assert dns_names(peer_der(s)) == [domain]


@pytest.mark.parametrize("transport", ["starttls", "direct"])
@pytest.mark.parametrize("sni", [None, DOMAIN, OTHER, "unknown.example"])
def test_channel_binding_matches_the_certificate_presented(two_domains, transport, sni):
    """tls-server-end-point is the hash of the certificate the client saw, whichever way it was
    chosen; the account is the stream domain's."""
    if transport == "starttls":
        s = RawStream(LOOPBACK, two_domains.port)
        starttls_with(s, OTHER, no_verify(), sni)
    else:
        s, _ = direct_tls(LOOPBACK, two_domains.tls_port, OTHER, no_verify(alpn=["xmpp-client"]), sni)
    with s:
        outcome = scram_plus(s, "alice", f"alice-{OTHER}")
        assert outcome.success and outcome.server_signature_ok, ET.tostring(outcome.element)
        assert bind(s, OTHER, "cb") == f"alice@{OTHER}/cb"


def test_a_self_signed_certificate_is_made_on_first_start_and_kept(workdir, processes):
    stack = start_stack(workdir, processes)
    cert_file, key_file = workdir / "certs" / f"{DOMAIN}.crt", workdir / "certs" / f"{DOMAIN}.key"
    assert cert_file.exists() and key_file.exists()
    s, _ = raw_tls(*stack.c2s)
    with s:
        first = peer_der(s)
    assert DOMAIN in dns_names(first)
    stack.c2s_daemon.process.stop()
    again = start_c2s(workdir, processes, stack.router, name="starling-c2s-again", storage=STORE,
                      router_login=(C2S_USER, C2S_PASSWORD))
    s, _ = raw_tls(again.host, again.port)
    with s:
        assert peer_der(s) == first
