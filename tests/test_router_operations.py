"""Operating starling-router: config errors, reload on SIGHUP, shutdown on SIGTERM, TLS on the
component port, and the authentication deadline."""

from __future__ import annotations

import signal
import ssl
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.component import NS_COMPONENT, AuthFailed, Component, connect, message
from helpers.rawxmpp import RawStream, component_handshake, stream_error_condition
from helpers.starling import starling_bin

PASSWORD = "s3cret-pass"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
STREAM_ERROR = "{http://etherx.jabber.org/streams}error"


def run_router_expecting_failure(config_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [starling_bin("starling-router"), "--config", config_path],
        capture_output=True,
        text=True,
        timeout=20,
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ('listen = ["127.0.0.1:5999"]\n[limits]\nbogus = 1\n', "limits.bogus"),
        ('listen = ["127.0.0.1:5999"]\n[users.sm]\npassword = 5\n', "users.sm.password"),
        ('listen = ["127.0.0.1:5999"]\n[users.sm]\npassword = ""\n', "users.sm.password: must not be empty"),
        ('listen = ["127.0.0.1:5999"]\n[[filters]]\naction = "deny"\nerror = "nope"\n', "filters[0].error"),
        ('listen = ["127.0.0.1:5999"]\n[tls]\nrequired = true\n', "tls.required"),
        ("listen = [\n", "router.toml:"),
    ],
)
def test_config_errors_name_file_and_key(tmp_path, text, expected):
    config = tmp_path / "router.toml"
    config.write_text(text)
    result = run_router_expecting_failure(config)
    assert result.returncode == 1
    assert str(config) in result.stderr and expected in result.stderr, result.stderr


def test_missing_config_file(tmp_path):
    result = run_router_expecting_failure(tmp_path / "absent.toml")
    assert result.returncode == 1
    assert "absent.toml: cannot read" in result.stderr


def test_sighup_reloads_components_and_keeps_a_good_config(starling_router):
    r = starling_router({"users": {"a": {"password": PASSWORD}}})
    attempt = component_handshake(r.host, r.port, "bot.example", "secret1")
    assert attempt.stream_error == "host-unknown"

    text = r.config_path.read_text()
    r.config_path.write_text(text + '\n[components."bot.example"]\nsecret = "secret1"\n')
    r.process.popen.send_signal(signal.SIGHUP)
    r.process.wait_for_log("configuration reloaded", timeout=10)
    assert component_handshake(r.host, r.port, "bot.example", "secret1").handshake_ok

    # A broken file is refused: the router keeps running with what it had.
    r.config_path.write_text("listen = [\n")
    r.process.popen.send_signal(signal.SIGHUP)
    r.process.wait_for_log("reload refused", timeout=10)
    assert component_handshake(r.host, r.port, "bot.example", "secret1").handshake_ok
    connect(r.host, r.port, "a", PASSWORD, "a").close()


def test_sigterm_sends_system_shutdown(starling_router):
    r = starling_router({"users": {"a": {"password": PASSWORD}}})
    a = connect(r.host, r.port, "a", PASSWORD, "a")
    r.process.popen.send_signal(signal.SIGTERM)
    assert stream_error_condition(a.expect(STREAM_ERROR)) == "system-shutdown"
    a.wait_closed()
    assert r.process.popen.wait(timeout=10) == 0


def test_sigterm_after_abrupt_disconnects_and_during_authentication(starling_router):
    """A component that vanished without closing its stream, and one still authenticating, do not
    hold shutdown up: the router exits without waiting out its grace period."""
    r = starling_router({"users": {"a": {"password": PASSWORD}, "b": {"password": PASSWORD}}})
    a = connect(r.host, r.port, "a", PASSWORD, "a")
    gone = connect(r.host, r.port, "b", PASSWORD, "b")
    gone.sock.close()
    r.process.wait_for_log(r"component disconnected link=\d+ account=b", timeout=10)
    half = Component(r.host, r.port)
    half.open()
    r.process.popen.send_signal(signal.SIGTERM)
    assert stream_error_condition(a.expect(STREAM_ERROR)) == "system-shutdown"
    assert r.process.popen.wait(timeout=10) == 0
    assert "did not take their stream errors" not in r.process.output()


def test_authentication_deadline(starling_router):
    r = starling_router({"limits": {"auth_timeout": 1}})
    comp = Component(r.host, r.port)
    comp.open()
    # Say nothing: the router closes the stream on its own.
    assert stream_error_condition(comp.next_element(timeout=5)) == "connection-timeout"
    comp.wait_closed()


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    cert, key = tmp_path / "router.crt", tmp_path / "router.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=router.test", "-addext", "subjectAltName=DNS:router.test",
         "-keyout", key, "-out", cert],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def start_tls(comp: Component) -> None:
    comp.send(f"<starttls xmlns='{NS_TLS}'/>")
    assert comp.next_element().tag == f"{{{NS_TLS}}}proceed"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    comp.sock = context.wrap_socket(comp.sock, server_hostname="router.test")
    comp.open()


def test_starttls_then_plain_and_scram_plus(starling_router, certificate):
    cert, key = certificate
    r = starling_router(
        {
            "tls": {"certificate": str(cert), "key": str(key), "required": True},
            "users": {"a": {"password": PASSWORD}, "b": {"password": PASSWORD}},
        }
    )
    comp = Component(r.host, r.port)
    features = comp.open()
    starttls = features.find(f"{{{NS_TLS}}}starttls")
    assert starttls is not None and starttls.find(f"{{{NS_TLS}}}required") is not None
    assert comp.mechanisms() == [], "no SASL before TLS when TLS is required"
    with pytest.raises(AuthFailed, match="encryption-required"):
        comp.authenticate("a", PASSWORD)

    start_tls(comp)
    assert {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"} <= set(comp.mechanisms())
    comp.authenticate("a", PASSWORD, mechanism="PLAIN")
    assert comp.bind("a") is None

    b = Component(r.host, r.port)
    b.open()
    start_tls(b)
    b.authenticate("b", PASSWORD)
    assert b.bind("b") is None
    comp.route("b", "a", message("x@b", "u@a", id="over-tls"))
    assert list(b.next_route())[0].get("id") == "over-tls"


def test_data_pipelined_after_starttls_is_refused(starling_router, certificate):
    cert, key = certificate
    r = starling_router({"tls": {"certificate": str(cert), "key": str(key)}})
    with RawStream(r.host, r.port) as s:
        s.send("<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
        s.read_header()
        s.next_element()
        s.send(f"<starttls xmlns='{NS_TLS}'/><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYQ==</auth>")
        assert stream_error_condition(s.next_element()) == "policy-violation"
        s.wait_closed()


def test_wrong_stream_namespace(starling_router):
    r = starling_router({})
    with RawStream(r.host, r.port) as s:
        s.send("<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='x' version='1.0'>")
        s.read_header()
        assert stream_error_condition(s.next_element()) == "invalid-namespace"
        s.wait_closed()


def test_bind_reply_is_the_bind_without_name(starling_router):
    r = starling_router({"users": {"a": {"password": PASSWORD, "bind": ["a", "*.a"]}}})
    comp = connect(r.host, r.port, "a", PASSWORD)
    comp.send(f"<bind xmlns='{NS_COMPONENT}' name='x.a' multi='to'/>")
    reply = comp.expect(f"{{{NS_COMPONENT}}}bind")
    assert reply.get("name") is None and reply.get("multi") == "to" and reply.get("error") is None
    assert ET.tostring(reply)
