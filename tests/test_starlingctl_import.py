"""Moving in: `starlingctl import-jabberd2` and `starlingctl export` / `import` (XEP-0227).

The jabberd2 tests build a real jabberd2 SQLite database with Debian's jabberd2 (users register
through its c2s, set rosters and subscriptions, a vCard, private XML and a privacy list, send a
message to a user who is offline, log out), stop jabberd2, import the database, then log the same
users in to the all-Starling stack with their old passwords. The XEP-0227 tests export a store
the Starling stack filled, import it into an empty store, export that, and compare.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.roster import subscribe
from helpers.smstack import SmClient, roster_items
from helpers.stack import DOMAIN, STORE, Client, login, register, start_stack
from helpers.starling import starling_bin
from helpers.xmpp import LoginFailed, register_account, run_async

VCARD = "vcard-temp"
PRIVATE = "jabber:iq:private"
PRIVACY = "jabber:iq:privacy"
LAST = "jabber:iq:last"
NOTES = "urn:example:notes"


def ctl(*args: str) -> subprocess.CompletedProcess:
    exe = starling_bin("starlingctl")
    if not exe.exists():
        raise AssertionError(f"{exe} does not exist: build it with `cargo build --workspace --bins`")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def ok(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 0, (r.stdout, r.stderr)
    return r.stdout


def etc_for(workdir: Path, name: str = "etc", store: str = STORE) -> Path:
    """An etc/ whose sm.toml names `workdir/store`, the file start_stack(workdir) uses."""
    etc = workdir / name
    etc.mkdir()
    (etc / "sm.toml").write_text(f'[storage]\npath = "{workdir / store}"\n')
    return etc


def dump(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def vcard(**fields: str) -> ET.Element:
    card = ET.Element(f"{{{VCARD}}}vCard")
    for name, text in fields.items():
        ET.SubElement(card, f"{{{VCARD}}}{name}").text = text
    return card


def notes(text: str | None = None) -> ET.Element:
    query = ET.Element(f"{{{PRIVATE}}}query")
    ET.SubElement(query, f"{{{NOTES}}}notes").text = text
    return query


async def fill(host: str, port: int, client_class) -> None:
    """alice and bob subscribe to each other (alice files bob as "Bob" in Friends and Work),
    alice asks carol (offline) for a subscription, sets a vCard and private XML; bob sends carol a
    message and sets a privacy list as his default; then alice and bob log out."""
    a = client_class(f"alice@{DOMAIN}/home", "alice-pw")
    b = client_class(f"bob@{DOMAIN}/work", "bob-pw")
    await a.login(host, port)
    await b.login(host, port)
    await a.roster_get()
    await b.roster_get()
    assert (await a.roster_set(f"bob@{DOMAIN}", name="Bob", groups=["Friends", "Work"]))["type"] == "result"
    await subscribe(a, b)
    await subscribe(b, a)
    a.send_presence(pto=f"carol@{DOMAIN}", ptype="subscribe")
    card = vcard(FN="Alice Liddell", NICKNAME="al & <ice>")
    assert (await a.iq(None, "set", card))["type"] == "result"
    assert (await a.iq(None, "set", notes("remember the rabbit")))["type"] == "result"
    b.send_chat(f"carol@{DOMAIN}", "hello carol, from bob", msg_id="b2c-1")
    lists = ET.Element(f"{{{PRIVACY}}}query")
    lst = ET.SubElement(lists, f"{{{PRIVACY}}}list", {"name": "block-dave"})
    ET.SubElement(lst, f"{{{PRIVACY}}}item",
                  {"type": "jid", "value": f"dave@{DOMAIN}", "action": "deny", "order": "1"})
    ET.SubElement(lst, f"{{{PRIVACY}}}item", {"action": "allow", "order": "2"})
    assert (await b.iq(None, "set", lists))["type"] == "result"
    default = ET.Element(f"{{{PRIVACY}}}query")
    ET.SubElement(default, f"{{{PRIVACY}}}default", {"name": "block-dave"})
    assert (await b.iq(None, "set", default))["type"] == "result"
    await a.ping_server()
    await b.ping_server()
    await a.close()
    await b.close()


def wait_for_rows(db: Path, table: str, count: int, timeout: float = 10.0) -> None:
    """Bounded wait until `table` has `count` rows (the sm writes logouts after the stream ends)."""
    deadline = time.monotonic() + timeout
    while True:
        con = sqlite3.connect(db)
        try:
            have = con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        finally:
            con.close()
        if have >= count:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{table} has {have} rows after {timeout}s, expected {count}")
        time.sleep(0.1)


def jabberd2_database(jabberd2) -> Path:
    """A jabberd2 SQLite database filled through jabberd2 itself (see the module docs), with
    jabberd2 stopped again, plus an authreg row without a password."""
    suite = jabberd2(domain=DOMAIN).start(with_router=True)
    host, port = suite.c2s_host, suite.c2s_port

    async def scenario():
        for name in ("alice", "bob", "carol"):
            await register_account(host, port, f"{name}@{DOMAIN}", f"{name}-pw")
        await fill(host, port, SmClient)

    run_async(scenario(), timeout=120)
    wait_for_rows(suite.db_path, "logout", 2)
    for daemon in (suite.c2s, suite.sm, suite.router):
        daemon.stop()
    con = sqlite3.connect(suite.db_path)
    with con:
        con.execute("INSERT INTO authreg (username, realm, password) VALUES ('nopass', ?, NULL)", (DOMAIN,))
    con.close()
    return suite.db_path


def check_moved_data(stack) -> None:
    """Old passwords, rosters, vCard, private XML, last logout, privacy lists, offline message and
    pending subscription request, all served by the Starling stack."""

    async def scenario():
        alice = await login(stack, "alice")
        items = roster_items(await alice.roster_get())
        bob, carol = items[f"bob@{DOMAIN}"], items[f"carol@{DOMAIN}"]
        assert (bob.get("subscription"), bob.get("name")) == ("both", "Bob")
        assert [g.text for g in bob.findall("{jabber:iq:roster}group")] == ["Friends", "Work"]
        assert (carol.get("subscription"), carol.get("ask")) == ("none", "subscribe")

        card = (await alice.iq(None, "get", ET.Element(f"{{{VCARD}}}vCard"))).xml.find(f"{{{VCARD}}}vCard")
        assert card.findtext(f"{{{VCARD}}}FN") == "Alice Liddell"
        assert card.findtext(f"{{{VCARD}}}NICKNAME") == "al & <ice>"
        stored = (await alice.iq(None, "get", notes())).xml
        assert stored.findtext(f"{{{PRIVATE}}}query/{{{NOTES}}}notes") == "remember the rabbit"
        last = (await alice.iq(f"bob@{DOMAIN}", "get", ET.Element(f"{{{LAST}}}query"))).xml
        assert int(last.find(f"{{{LAST}}}query").get("seconds")) >= 0

        bob = await login(stack, "bob")
        lists = (await bob.iq(None, "get", ET.Element(f"{{{PRIVACY}}}query"))).xml
        query = lists.find(f"{{{PRIVACY}}}query")
        assert query.find(f"{{{PRIVACY}}}default").get("name") == "block-dave"
        got = ET.Element(f"{{{PRIVACY}}}query")
        ET.SubElement(got, f"{{{PRIVACY}}}list", {"name": "block-dave"})
        items = (await bob.iq(None, "get", got)).xml.findall(f".//{{{PRIVACY}}}item")
        assert [(i.get("order"), i.get("action"), i.get("value")) for i in items] == [
            ("1", "deny", f"dave@{DOMAIN}"), ("2", "allow", None)]
        await bob.close()

        carol_client = await login(stack, "carol")
        msg = await carol_client.wait_message(lambda m: m["body"] == "hello carol, from bob")
        assert msg["from"].bare == f"bob@{DOMAIN}"
        assert msg.xml.find("{urn:xmpp:delay}delay") is not None
        await carol_client.wait_presence(
            lambda p: p["type"] == "subscribe" and p["from"].bare == f"alice@{DOMAIN}")

        await alice.close()
        await carol_client.close()

    run_async(scenario(), timeout=120)


@pytest.mark.usefixtures("jabberd2_required")
def test_import_jabberd2_and_log_in_to_starling(jabberd2, workdir, processes):
    db = jabberd2_database(jabberd2)
    etc = etc_for(workdir)
    out = ok(ctl("import-jabberd2", "--from", f"sqlite:{db}", "--etc", str(etc)))
    for line in (
        "accounts: 4 imported",
        "credentials: 3 imported, 1 not imported",
        "roster items: 3 imported",
        "subscription requests: 1 imported",
        "offline messages: 1 imported",
        "vCards: 1 imported",
        "private XML namespaces: 1 imported",
        "last logout times: 2 imported",
        "nopass@localhost: credentials: no password in authreg",
    ):
        assert line in out, out
    assert "privacy lists: 1 imported" in out and "default privacy lists: 1 imported" in out, out

    # Idempotent: the second run finds everything, reports it, and writes nothing.
    before = dump(workdir / STORE)
    again = ok(ctl("import-jabberd2", "--from", f"sqlite:{db}", "--etc", str(etc)))
    assert "accounts: 4 already present" in again and "roster items: 3 already present" in again, again
    assert " imported" not in again.replace("not imported", ""), again
    assert dump(workdir / STORE) == before

    stack = start_stack(workdir, processes)
    check_moved_data(stack)

    async def locked():
        # Imported without credentials: nobody can log in until `starlingctl passwd`.
        nopass = Client(f"nopass@{DOMAIN}/x", "any-password")
        with pytest.raises(LoginFailed):
            await nopass.login(*stack.c2s, timeout=10, presence=False)
        await nopass.close()

    run_async(locked(), timeout=30)


def test_import_jabberd2_errors(tmp_path):
    etc = etc_for(tmp_path)
    r = ctl("import-jabberd2", "--from", "postgres://jabberd2@localhost/jabberd2", "--etc", str(etc))
    assert r.returncode == 1 and "not yet supported" in r.stderr, r.stderr
    r = ctl("import-jabberd2", "--from", f"sqlite:{tmp_path / 'missing.db'}", "--etc", str(etc))
    assert r.returncode == 1 and "no such file" in r.stderr, r.stderr
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    r = ctl("import-jabberd2", "--from", f"sqlite:{other}", "--etc", str(etc))
    assert r.returncode == 1 and "not a jabberd2 database" in r.stderr, r.stderr
    r = ctl("import-jabberd2", "--from", str(other), "--etc", str(etc))
    assert r.returncode == 1 and "sqlite:" in r.stderr, r.stderr


def test_xep0227_round_trip(workdir, processes):
    """A store filled through the Starling stack, exported, imported into an empty store and
    exported again: the same document; the second stack serves the same users and data."""
    first = start_stack(workdir / "first", processes)
    host, port = first.c2s

    async def scenario():
        await register(first, "alice", "bob", "carol")
        await fill(host, port, Client)

    run_async(scenario(), timeout=120)
    wait_for_rows(workdir / "first" / STORE, "last_activity", 2)
    etc1 = etc_for(workdir / "first", "etc")
    a_xml, b_xml = workdir / "a.xml", workdir / "b.xml"
    assert "exported 3 users" in ok(ctl("export", "--to", str(a_xml), "--etc", str(etc1)))
    assert a_xml.stat().st_mode & 0o777 == 0o600
    exported = a_xml.read_text()
    assert "<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-256'>" in exported
    assert "password" not in exported

    (workdir / "second").mkdir()
    etc2 = etc_for(workdir / "second", "etc")
    out = ok(ctl("import", str(a_xml), "--etc", str(etc2)))
    assert "accounts: 3 imported" in out and "offline messages: 1 imported" in out, out
    ok(ctl("export", "--to", str(b_xml), "--etc", str(etc2)))
    assert b_xml.read_text() == exported
    again = ok(ctl("import", str(a_xml), "--etc", str(etc2)))
    assert "accounts: 3 already present" in again, again

    check_moved_data(start_stack(workdir / "second", processes))


def test_xep0227_from_another_server(tmp_path):
    """A hand-written file as another server writes it: plaintext password, an unknown element,
    a privacy list the XEP-0016 rules refuse; only the domain asked for with --domain is exported back."""
    etc = etc_for(tmp_path)
    file = tmp_path / "in.xml"
    file.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        "<server-data xmlns='urn:xmpp:pie:0'>\n"
        "  <host jid='capulet.test'>\n"
        "    <user name='juliet' password='s3crEt'>\n"
        "      <query xmlns='jabber:iq:roster'><item jid='romeo@montague.test' name='Romeo' "
        "subscription='both'><group>Friends</group></item></query>\n"
        "      <vCard xmlns='vcard-temp'><FN>Juliet Capulet</FN></vCard>\n"
        "      <query xmlns='jabber:iq:privacy'><list name='public'><item action='allow' order='x'/>"
        "</list></query>\n"
        "      <pubsub xmlns='http://jabber.org/protocol/pubsub'/>\n"
        "    </user>\n"
        "  </host>\n"
        "  <host jid='montague.test'><user name='romeo'/></host>\n"
        "</server-data>\n"
    )
    out = ok(ctl("import", str(file), "--etc", str(etc)))
    assert "capulet.test:\n  accounts: 1 imported\n  credentials: 1 imported" in out, out
    assert "not understood, ignored" in out and "romeo@montague.test: credentials" in out, out
    assert "privacy list \"public\": not a valid list" in out, out
    # sm.toml names no domains, so the sm serves only its default, localhost.
    assert "note: capulet.test is not among the domains sm.toml serves (localhost)" in out, out
    assert ok(ctl("users", "capulet.test", "--etc", str(etc))).split() == ["juliet@capulet.test"]
    exported = tmp_path / "out.xml"
    ok(ctl("export", "--domain", "capulet.test", "--to", str(exported), "--etc", str(etc)))
    text = exported.read_text()
    assert "<host jid='capulet.test'>" in text and "montague.test'>" not in text, text
    assert "<FN>Juliet Capulet</FN>" in text, text

    bad = tmp_path / "bad.xml"
    bad.write_text("<server-data xmlns='urn:example:other'/>")
    r = ctl("import", str(bad), "--etc", str(etc))
    assert r.returncode == 1 and "not an XEP-0227 document" in r.stderr, r.stderr
