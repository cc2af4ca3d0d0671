"""Test harness for Starling's integration tests (pytest + slixmpp + Debian's jabberd2).

Modules:
  ports      free loopback ports
  process    start/watch/stop a daemon, logs captured to files
  starling   Starling binaries, TOML config writer, starling-router launcher
  jabberd2   jabberd2 router/sm/c2s configs (templates in tests/jabberd2/) and launcher
  rawxmpp    raw-socket XML stream client (stream errors, readiness probes)
  xmpp       slixmpp: in-band registration, chat clients, XEP-0114 components, run_async
"""

# Stanza error condition our router puts into the stanza it hands back to an XEP-0114 component
# whose packet was bounced for a spoofed `from` (the router-level bounce is error='401').
# jabberd2's router says service-unavailable here; Starling maps code 401 as jabberd2's own sm
# does (crates/component/src/route_error.rs): improper credentials for that address.
SPOOF_CONDITION = "not-authorized"

# Stanza error type for that bounce (RFC 6120 §8.3.3.11).
SPOOF_ERROR_TYPE = "auth"

# Stream error conditions for refused XEP-0114 components (RFC 6120 §4.9.3, XEP-0114 §3).
WRONG_SECRET_CONDITION = "not-authorized"
UNKNOWN_NAME_CONDITION = "host-unknown"
