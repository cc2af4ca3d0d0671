"""`starlingctl up` running the real suite — router, sm and c2s — from the repository's own etc/
and from what `starlingctl init` writes: accounts made on first start, users added with
`starlingctl adduser` or registered in-band, and a chat over STARTTLS."""

import shutil
import tomllib

from helpers.c2s_stack import register_tls, tls_client
from helpers.rawxmpp import wait_c2s_ready
from helpers.xmpp import run_async
from test_starlingctl import ROOT, Up, ctl, free_port, init_etc


def use_free_ports(etc):
    """The shipped and generated files listen on the standard ports; tests must not."""
    ports = {standard: free_port() for standard in (5347, 5222, 5223)}
    for name in ("router.toml", "c2s.toml", "sm.toml"):
        path = etc / name
        text = path.read_text()
        for standard, port in ports.items():
            text = text.replace(f'"127.0.0.1:{standard}"', f'"127.0.0.1:{port}"')
        path.write_text(text)
    assert all(f'"127.0.0.1:{p}"' in (etc / "c2s.toml").read_text() for p in ports.values())
    return ports


async def chat(port, domain, alice_pw, bob_pw):
    async with tls_client("127.0.0.1", port, f"alice@{domain}", alice_pw) as alice:
        async with tls_client("127.0.0.1", port, f"bob@{domain}", bob_pw) as bob:
            for client in (alice, bob):
                client.send_presence()
                await client.ping_server()
            alice.send_chat(f"bob@{domain}", "through the whole suite", msg_id="suite-1")
            msg = await bob.wait_message(lambda m: m["id"] == "suite-1")
            assert msg["body"] == "through the whole suite"
            assert msg["from"].bare == f"alice@{domain}"


def test_up_runs_the_shipped_etc(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("router.toml", "c2s.toml", "sm.toml"):
        shutil.copy(ROOT / "etc" / name, etc / name)
    ports = use_free_ports(etc)

    with Up(tmp_path, etc) as up:
        up.wait_for_output("first start: created the router account for c2s", 20)
        up.wait_for_output("first start: created the router account for sm", 20)
        router = tomllib.loads((etc / "router.toml").read_text())
        for name in ("c2s", "sm"):
            own = tomllib.loads((etc / f"{name}.toml").read_text())
            assert router["users"][name]["password"] == own["router"]["password"] != ""
        wait_c2s_ready("127.0.0.1", ports[5222], "localhost", timeout=30)
        # The self-signed certificate is generated and kept beside the config.
        assert (etc / "certs" / "localhost.crt").is_file()

        for user in ("alice", "bob"):
            added = ctl("adduser", f"{user}@localhost", f"{user}-pw", "--etc", etc)
            assert added.returncode == 0, added.stderr
        run_async(chat(ports[5222], "localhost", "alice-pw", "bob-pw"))
        assert up.stop() == 0, up.stderr()

    # A second start finds the accounts in place and creates none.
    with Up(tmp_path, etc) as up:
        wait_c2s_ready("127.0.0.1", ports[5222], "localhost", timeout=30)
        assert "first start" not in up.stderr()
        assert up.stop() == 0, up.stderr()


def test_up_runs_what_init_writes_with_registration(tmp_path):
    etc = init_etc(tmp_path, None, "--allow-registration")
    ports = use_free_ports(etc)
    with Up(tmp_path, etc) as up:
        wait_c2s_ready("127.0.0.1", ports[5222], "example.test", timeout=30)
        assert "first start" not in up.stderr()

        async def scenario():
            for user in ("alice", "bob"):
                await register_tls("127.0.0.1", ports[5222], f"{user}@example.test", f"{user}-pw")
            await chat(ports[5222], "example.test", "alice-pw", "bob-pw")

        run_async(scenario())
        listed = ctl("users", "example.test", "--etc", etc)
        assert listed.stdout.split() == ["alice@example.test", "bob@example.test"], listed
        assert up.stop() == 0, up.stderr()
