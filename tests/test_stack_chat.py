"""The all-Starling stack (router + sm + c2s): in-band registration, login over STARTTLS with
SCRAM, and a chat between two users — the path `starlingctl up` serves."""

from helpers.stack import DOMAIN, login, register, start_stack
from helpers.xmpp import run_async


def test_two_users_register_log_in_and_chat(workdir, processes):
    stack = start_stack(workdir, processes)

    async def scenario():
        await register(stack, "alice", "bob")
        alice = await login(stack, "alice")
        bob = await login(stack, "bob")
        try:
            alice.send_chat(f"bob@{DOMAIN}", "hello bob", msg_id="m1")
            msg = await bob.wait_message(lambda m: m["id"] == "m1")
            assert msg["body"] == "hello bob"
            assert msg["from"].bare == f"alice@{DOMAIN}"
            assert msg["from"].resource == alice.boundjid.resource
            bob.send_chat(alice.boundjid.full, "hi alice", msg_id="m2")
            reply = await alice.wait_message(lambda m: m["id"] == "m2")
            assert reply["body"] == "hi alice"
        finally:
            await alice.close()
            await bob.close()

    run_async(scenario())
