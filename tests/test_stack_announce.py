"""Announcements and the message of the day (jabberd2's mod_announce) on the all-Starling stack:
an admin of sm.toml's [acl] sends to DOMAIN/announce/online (every available session now) or
DOMAIN/announce/motd (now, and once at each other user's next login), updates or deletes the
message of the day; anyone else is forbidden.
"""

from __future__ import annotations

from helpers.stack import DOMAIN, login, register, start_stack
from helpers.stack_checks import barrier, is_error, jid, leftovers
from helpers.xmpp import run_async

ONLINE, MOTD = f"{DOMAIN}/announce/online", f"{DOMAIN}/announce/motd"
UPDATE, DELETE = f"{MOTD}/update", f"{MOTD}/delete"
ACL = {"acl": {"admins": [jid("admin")]}}


def from_domain(st) -> bool:
    return st["from"].full == DOMAIN and st["type"] != "error"


def announcements(client) -> list:
    return leftovers(client.messages, from_domain)


def send(sender, to: str, body: str, subject: str | None = None) -> None:
    msg = sender.make_message(mto=to, mbody=body, msubject=subject)
    msg.send()


async def fresh_login(stack, name: str, resource: str):
    """Logs in and waits until the first available presence has been handled (a ping sent after
    it is answered after anything the sm sent the session for it)."""
    c = await login(stack, name, resource=resource)
    await c.ping_server()
    return c


def test_online_announcement_and_forbidden(workdir, processes):
    stack = start_stack(workdir, processes, sm_tables=ACL)

    async def body():
        await register(stack, "admin", "alice", "bob", "carol")
        admin = await fresh_login(stack, "admin", "desk")
        alice1 = await fresh_login(stack, "alice", "pc")
        alice2 = await fresh_login(stack, "alice", "phone")
        bob = await fresh_login(stack, "bob", "home")
        try:
            send(admin, ONLINE, "maintenance at noon", "Notice")
            for c in (alice1, alice2, bob, admin):
                got = await c.wait_message(lambda m: from_domain(m) and m["body"] == "maintenance at noon",
                                           what="the announcement")
                assert got["subject"] == "Notice" and got["to"].full == c.boundjid.full, got
            # Not for the offline carol: not now, not queued for later.
            carol = await fresh_login(stack, "carol", "pc")
            try:
                await barrier(admin, carol)
                assert announcements(carol) == []
            finally:
                await carol.close()
            # A user who is not an admin is forbidden and nothing is sent.
            send(bob, ONLINE, "fake news")
            err = await bob.wait_message(lambda m: m["type"] == "error", what="the error")
            assert is_error(err, "forbidden"), err
            send(bob, MOTD, "fake motd")
            err = await bob.wait_message(lambda m: m["type"] == "error", what="the error")
            assert is_error(err, "forbidden"), err
            for c in (alice1, alice2):
                await barrier(admin, c)
                assert [m["body"] for m in announcements(c)] == [], c.boundjid
            # Nor did the refused motd get set.
            dave = await fresh_login(stack, "carol", "again")
            try:
                await barrier(admin, dave)
                assert announcements(dave) == []
            finally:
                await dave.close()
        finally:
            for c in (admin, alice1, alice2, bob):
                await c.close()

    run_async(body(), timeout=120)


def test_motd_set_update_delete(workdir, processes):
    stack = start_stack(workdir, processes, sm_tables=ACL)

    async def body():
        await register(stack, "admin", "alice", "bob", "carol", "dave")
        admin = await fresh_login(stack, "admin", "desk")
        alice = await fresh_login(stack, "alice", "pc")
        try:
            send(admin, MOTD, "welcome v1", "MOTD")
            # Online users get it now.
            got = await alice.wait_message(lambda m: from_domain(m) and m["body"] == "welcome v1",
                                           what="the motd")
            assert got["subject"] == "MOTD"
            await barrier(admin, alice)
            await alice.close()
            # ...and not again at their next login.
            alice = await fresh_login(stack, "alice", "pc2")
            await barrier(admin, alice)
            assert announcements(alice) == []
            # bob was offline: he gets it at his next login, once.
            bob = await fresh_login(stack, "bob", "home")
            got = await bob.wait_message(lambda m: from_domain(m), what="the motd at login")
            assert got["body"] == "welcome v1" and got["subject"] == "MOTD", got
            await barrier(admin, bob)
            assert announcements(bob) == []  # once only
            await bob.close()
            bob = await fresh_login(stack, "bob", "home")
            await barrier(admin, bob)
            assert announcements(bob) == []
            # An update is not sent to anyone now, nor again to those who had the message.
            send(admin, UPDATE, "welcome v2")
            for c in (alice, bob):
                await barrier(admin, c)
                assert announcements(c) == [], c.boundjid
            await bob.close()
            bob = await fresh_login(stack, "bob", "home")
            await barrier(admin, bob)
            assert announcements(bob) == []
            # Who never had it gets the updated text at login.
            carol = await fresh_login(stack, "carol", "pc")
            got = await carol.wait_message(lambda m: from_domain(m), what="the updated motd")
            assert got["body"] == "welcome v2", got
            await carol.close()
            # Deleted: nobody gets it any more.
            send(admin, DELETE, "")
            await barrier(admin, alice)
            dave = await fresh_login(stack, "dave", "pc")
            await barrier(admin, dave)
            assert announcements(dave) == []
            await dave.close()
            await bob.close()
        finally:
            await admin.close()
            await alice.close()

    run_async(body(), timeout=150)
