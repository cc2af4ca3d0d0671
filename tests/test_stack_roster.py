"""RFC 6121 §2 roster management and §2.6 / XEP-0237 roster versioning on the all-Starling stack
(starling-router + starling-sm + starling-c2s), with slixmpp clients over STARTTLS.

"Nothing else arrived" is always checked after a ping barrier (helpers.roster), never after a sleep.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from helpers.c2s_stack import raw_login
from helpers.roster import barrier, groups, item, online, query, state
from helpers.smstack import NS_ROSTER, error_condition, query_ver, roster_items
from helpers.stack import DOMAIN, login, register, start_stack
from helpers.xmpp import run_async

ALICE, BOB = f"alice@{DOMAIN}", f"bob@{DOMAIN}"
ROMEO, NURSE, BENVOLIO = "romeo@example.net", "nurse@example.com", "benvolio@example.net"


@pytest.fixture
def stack(workdir, processes):
    return start_stack(workdir, processes)


def roster_set_raw(client, items: list[tuple[dict, list[str]]], to: str | None = None):
    """A roster set with exactly these <item/> attributes and groups."""
    q = ET.Element(f"{{{NS_ROSTER}}}query")
    for attrs, names in items:
        it = ET.SubElement(q, f"{{{NS_ROSTER}}}item", attrs)
        for name in names:
            ET.SubElement(it, f"{{{NS_ROSTER}}}group").text = name
    return client.iq(to, "set", q)


def one_item(push) -> ET.Element:
    """RFC 6121 §2.1.6: a push carries exactly one item, from the user's bare JID (or no 'from')."""
    q = query(push)
    assert q is not None, push
    items = q.findall(f"{{{NS_ROSTER}}}item")
    assert len(items) == 1, push
    assert push["from"].full in ("", push["to"].bare), push
    return items[0]


def test_roster_get_empty_then_with_items(stack):
    async def scenario():
        await register(stack, "alice")
        a = await login(stack, "alice", resource="one")
        try:
            # §2.6.1: versioning is advertised as a stream feature (pre-approval, §3.4, is not
            # offered).
            assert "rosterver" in a.features and "preapproval" not in a.features, a.features
            res = await a.roster_get()
            # §2.1.3: an empty roster is a result with an empty <query/>, not an error; §2.6.3:
            # the version even when the client did not ask for versioning.
            q = query(res)
            assert res["type"] == "result" and q is not None and len(q) == 0, res
            assert q.get("ver"), res
            assert (await a.roster_set(ROMEO, name="Romeo", groups=["Friends", "Lovers"]))["type"] == "result"
            assert (await a.roster_set(NURSE))["type"] == "result"

            res = await a.roster_get()
            assert list(roster_items(res)) == [ROMEO, NURSE]
            romeo, nurse = item(res, ROMEO), item(res, NURSE)
            assert (romeo.get("name"), romeo.get("subscription"), romeo.get("ask")) == ("Romeo", "none", None)
            assert groups(romeo) == ["Friends", "Lovers"]
            assert (nurse.get("name"), nurse.get("subscription"), groups(nurse)) == (None, "none", [])
        finally:
            await a.close()

    run_async(scenario(), timeout=60)


def test_set_update_remove_are_pushed_to_interested_resources_only(stack):
    async def scenario():
        await register(stack, "alice")
        one = await online(stack, "alice", "one")
        two = await online(stack, "alice", "two")
        # §2.2: a connected resource that asked for the roster is interested, available or not…
        four = await online(stack, "alice", "four", presence=False)
        # …and one that never asked is not.
        three = await login(stack, "alice", resource="three")
        interested = (one, two, four)
        try:
            async def pushed(predicate):
                got = [one_item(await c.wait_push(predicate)) for c in interested]
                return got[0]

            # §2.4 add: result to the sender, a push to every interested resource (sender included).
            res = await one.roster_set(ROMEO, name="Romeo", groups=["Friends"])
            assert res["type"] == "result" and len(res.xml) == 0, res
            it = await pushed(lambda iq: item(iq, ROMEO) is not None)
            assert (it.get("name"), it.get("subscription"), it.get("ask"), groups(it)) == ("Romeo", "none", None, ["Friends"])

            # §2.4.1 update: the item is replaced exactly as given (groups in the given order).
            await two.roster_set(ROMEO, name="Romeo M.", groups=["Lovers", "Friends"])
            it = await pushed(lambda iq: (item(iq, ROMEO) is not None and item(iq, ROMEO).get("name") == "Romeo M."))
            assert groups(it) == ["Lovers", "Friends"]
            # An empty name is the same as no name; no <group/> means no groups.
            await one.roster_set(ROMEO)
            it = await pushed(lambda iq: item(iq, ROMEO) is not None and not groups(item(iq, ROMEO)))
            assert it.get("name") is None and it.get("subscription") == "none"
            res = await roster_set_raw(one, [({"jid": ROMEO, "name": ""}, ["G"])])
            assert res["type"] == "result", res
            it = await pushed(lambda iq: item(iq, ROMEO) is not None and groups(item(iq, ROMEO)) == ["G"])
            assert it.get("name") is None

            # §2.5 remove: pushed with subscription='remove', and gone from the roster.
            res = await four.roster_set(ROMEO, remove=True)
            assert res["type"] == "result", res
            it = await pushed(lambda iq: state(iq, ROMEO) == ("remove", None))
            assert dict(it.attrib) == {"jid": ROMEO, "subscription": "remove"} and len(it) == 0
            assert roster_items(await one.roster_get()) == {}

            await barrier(one, two, three, four)
            assert not three.pushes.history, [str(p) for p in three.pushes.history]
            for c in interested:
                assert not c.pushes.items, [str(p) for p in c.pushes.items]
        finally:
            for c in (one, two, three, four):
                await c.close()

    run_async(scenario(), timeout=90)


def test_roster_set_errors(stack):
    async def scenario():
        await register(stack, "alice", "bob")
        a = await online(stack, "alice", "one")
        other = await online(stack, "alice", "two")
        try:
            long_text = "x" * 1024
            cases = [
                # §2.3.3 bad-request: more than one item; duplicate groups.
                ([({"jid": ROMEO}, []), ({"jid": NURSE}, [])], "bad-request"),
                ([({"jid": ROMEO}, ["Friends", "Friends"])], "bad-request"),
                # §2.3.3 not-acceptable: oversized name, empty group, oversized group.
                ([({"jid": ROMEO, "name": long_text}, [])], "not-acceptable"),
                ([({"jid": ROMEO}, [""])], "not-acceptable"),
                ([({"jid": ROMEO}, [long_text])], "not-acceptable"),
                # A 'jid' that is no JID, or none at all: the request cannot be processed.
                ([({"jid": "not a jid@@"}, [])], "bad-request"),
                ([({"jid": "@example.net"}, [])], "bad-request"),
                ([({"name": "no jid"}, [])], "bad-request"),
                # An empty <query/> carries no item to set.
                ([], "bad-request"),
                # §2.5.3: removing what is not in the roster.
                ([({"jid": NURSE, "subscription": "remove"}, [])], "item-not-found"),
            ]
            for items, condition in cases:
                res = await roster_set_raw(a, items)
                assert res["type"] == "error" and error_condition(res) == condition, (items, str(res))

            # §2.1.5 / §2.3.3: another account's roster is not ours to change.
            res = await roster_set_raw(a, [({"jid": ROMEO}, [])], to=BOB)
            assert res["type"] == "error" and error_condition(res) == "forbidden", res
            assert res["error"]["type"] == "auth", res

            # Nothing of the above changed the roster or pushed anything.
            await barrier(a, other)
            assert not a.pushes.items and not other.pushes.items
            assert roster_items(await a.roster_get()) == {}

            # The longest name and group accepted (1023 bytes) go through.
            res = await roster_set_raw(a, [({"jid": ROMEO, "name": "n" * 1023}, ["g" * 1023])])
            assert res["type"] == "result", res
            # A roster set addressed to the user's own bare JID is the same as none.
            res = await roster_set_raw(a, [({"jid": NURSE}, [])], to=ALICE)
            assert res["type"] == "result", res
            await other.wait_push(lambda iq: item(iq, NURSE) is not None)

            # §2.1.2.5 / §2.1.2.2: a client's 'subscription' (other than remove), 'ask' and
            # 'approved' are ignored; subscription states change only by presence.
            attrs = {"jid": BENVOLIO, "subscription": "both", "ask": "subscribe", "approved": "true"}
            res = await roster_set_raw(a, [(attrs, [])])
            assert res["type"] == "result", res
            push = await other.wait_push(lambda iq: item(iq, BENVOLIO) is not None)
            assert dict(item(push, BENVOLIO).attrib) == {"jid": BENVOLIO, "subscription": "none"}
            assert state(await a.roster_get(), BENVOLIO) == ("none", None)
        finally:
            await a.close()
            await other.close()

    run_async(scenario(), timeout=90)


def test_roster_size_limit(workdir, processes):
    stack = start_stack(workdir, processes, sm_limits={"max_roster_items": 2})

    async def scenario():
        await register(stack, "alice", "bob")
        a = await online(stack, "alice")
        try:
            for jid in (ROMEO, NURSE):
                assert (await a.roster_set(jid))["type"] == "result"
            # The limit is a server-defined criterion the request does not meet (RFC 6120
            # §8.3.3.12), as jabberd2's roster.maxitems answers.
            res = await a.roster_set(BENVOLIO)
            assert res["type"] == "error" and error_condition(res) == "not-acceptable", res
            # Existing items can still change…
            assert (await a.roster_set(ROMEO, name="Romeo"))["type"] == "result"
            # …and a subscription request that would add an item is refused the same way.
            a.send_presence(pto=BOB, ptype="subscribe", pstatus="full")
            err = await a.wait_presence(lambda p: p["type"] == "error")
            assert error_condition(err) == "not-acceptable" and err["from"].bare == BOB, err
            assert list(roster_items(await a.roster_get())) == [ROMEO, NURSE]
            # Room again after a removal.
            assert (await a.roster_set(NURSE, remove=True))["type"] == "result"
            assert (await a.roster_set(BENVOLIO))["type"] == "result"
            assert list(roster_items(await a.roster_get())) == [ROMEO, BENVOLIO]
        finally:
            await a.close()

    run_async(scenario(), timeout=60)


def test_versioning_full_roster_current_version_and_missed_pushes(stack):
    async def scenario():
        await register(stack, "alice", "bob")
        a = await login(stack, "alice", resource="main")
        clients = [a]
        try:
            # §2.6.2: ver="" bootstraps: the whole roster with its version.
            res = await a.roster_get(ver="")
            assert query(res) is not None and len(query(res)) == 0
            versions = [query_ver(res)]
            assert versions[0]

            async def change(request, predicate):
                res = await request
                assert res["type"] == "result", res
                push = await a.wait_push(predicate)
                versions.append(query_ver(push))

            # Every change gets a new version: the first item of an empty roster, updates,
            # removals, and subscription changes alike.
            await change(a.roster_set(ROMEO, name="Romeo"), lambda iq: item(iq, ROMEO) is not None)
            await change(a.roster_set(NURSE), lambda iq: item(iq, NURSE) is not None)
            await change(a.roster_set(ROMEO, name="Romeo M."), lambda iq: item(iq, ROMEO) is not None)
            await change(a.roster_set(NURSE, remove=True), lambda iq: state(iq, NURSE) == ("remove", None))
            await change(a.roster_set(BENVOLIO), lambda iq: item(iq, BENVOLIO) is not None)
            a.send_presence(pto=BOB, ptype="subscribe")
            push = await a.wait_push(lambda iq: state(iq, BOB) == ("none", "subscribe"))
            versions.append(query_ver(push))
            assert all(versions) and len(set(versions)) == len(versions), versions
            v0, v1, v2, v3, v4, v5, v6 = versions

            res = await a.roster_get(ver="")
            assert list(roster_items(res)) == [ROMEO, BENVOLIO, BOB] and query_ver(res) == v6

            async def sync(ver):
                """A fresh resource holding `ver`: (the result, the pushes that followed it)."""
                c = await login(stack, "alice")
                clients.append(c)
                res = await c.roster_get(ver=ver)
                await barrier(c)
                return res, list(c.pushes.items)

            # §2.6.3: the current version → an empty result (no <query/>) and no pushes.
            res, pushes = await sync(v6)
            assert res["type"] == "result" and query(res) is None and pushes == [], res

            # An old version → an empty result, then one push per item changed since, in order
            # of modification, each with its version: the item's latest state, a removal as
            # subscription='remove'.
            res, pushes = await sync(v1)
            assert res["type"] == "result" and query(res) is None, res
            got = [(dict(one_item(p).attrib), query_ver(p)) for p in pushes]
            assert got == [
                ({"jid": ROMEO, "name": "Romeo M.", "subscription": "none"}, v3),
                ({"jid": NURSE, "subscription": "remove"}, v4),
                ({"jid": BENVOLIO, "subscription": "none"}, v5),
                ({"jid": BOB, "subscription": "none", "ask": "subscribe"}, v6),
            ], got
            res, pushes = await sync(v0)
            assert [(state(p, one_item(p).get("jid")), query_ver(p)) for p in pushes] == [
                (("none", None), v3), (("remove", None), v4), (("none", None), v5), (("none", "subscribe"), v6)
            ]
            res, pushes = await sync(v5)
            assert [query_ver(p) for p in pushes] == [v6]

            # A version the server never issued → the full roster with the current version.
            for ver in ("bogus", str(10**6)):
                res, pushes = await sync(ver)
                assert list(roster_items(res)) == [ROMEO, BENVOLIO, BOB] and query_ver(res) == v6, res
                assert pushes == []

            # Interim pushes go only to the resource that asked.
            await barrier(a)
            assert not a.pushes.items, [str(p) for p in a.pushes.items]
        finally:
            for c in clients:
                await c.close()

    run_async(scenario(), timeout=120)


def test_raw_roster_input(stack):
    """What slixmpp cannot send: a roster IQ with two payloads, a 'to' that is no JID, a client's
    answers to pushes (never answered back), and names and groups with XML-special and
    non-ASCII characters, which come back exactly as stored."""
    run_async(register(stack, "alice"), timeout=30)
    host, port = stack.c2s
    with raw_login(host, port, "alice", "alice-pw", "raw") as s:
        def answer(xml: str, ident: str) -> ET.Element:
            s.send(xml)
            el = s.next_element()
            assert el.get("id") == ident, ET.tostring(el)
            return el

        def condition(el: ET.Element) -> str | None:
            err = el.find("{jabber:client}error")
            return None if err is None else next(iter(err)).tag.split("}", 1)[1]

        q = f"<query xmlns='{NS_ROSTER}'><item jid='{ROMEO}'/></query>"
        el = answer(f"<iq type='set' id='two'>{q}{q}</iq>", "two")
        assert el.get("type") == "error" and condition(el) == "bad-request", ET.tostring(el)
        el = answer(f"<iq type='set' id='badto' to='a@@b'>{q}</iq>", "badto")
        assert el.get("type") == "error" and condition(el) == "jid-malformed", ET.tostring(el)
        el = answer(f"<iq type='set' id='full'><query xmlns='{NS_ROSTER}'><item jid='{ROMEO}/balcony'/></query></iq>",
                    "full")
        assert el.get("type") == "error" and condition(el) == "bad-request", ET.tostring(el)

        # Results and errors for pushes are taken silently (RFC 6121 §2.1.6 implementation note).
        s.send("<iq type='result' id='push-1'/>"
               "<iq type='error' id='push-2'><error type='cancel'>"
               "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
        el = answer("<iq type='get' id='ping' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", "ping")
        assert el.get("type") == "result", ET.tostring(el)

        name, group = "R&amp;J &lt;3 &quot;x&quot; ’", "Café ☕"
        el = answer(f"<iq type='set' id='set'><query xmlns='{NS_ROSTER}'><item jid='{ROMEO}' name='{name}'>"
                    f"<group>{group}</group></item></query></iq>", "set")
        assert el.get("type") == "result", ET.tostring(el)
        el = answer(f"<iq type='get' id='get'><query xmlns='{NS_ROSTER}'/></iq>", "get")
        it = el.find(f"{{{NS_ROSTER}}}query/{{{NS_ROSTER}}}item")
        assert it is not None and it.get("name") == "R&J <3 \"x\" ’" and groups(it) == [group], ET.tostring(el)
