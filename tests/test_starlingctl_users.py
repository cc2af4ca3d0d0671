"""starlingctl adduser / passwd / deluser / users against a temporary etc/ and SQLite store.

Self-contained (subprocess only). The binary is taken from $STARLING_BIN_DIR, else
$CARGO_TARGET_DIR/debug, else target/debug. Only the [storage] table of sm.toml (or c2s.toml) is
read by these commands, so the etc/ here holds nothing else.
"""

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(
    os.environ.get("STARLING_BIN_DIR")
    or Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "debug"
)
STARLINGCTL = BIN / "starlingctl"


@pytest.fixture(autouse=True)
def _starlingctl_built():
    if not STARLINGCTL.exists():
        pytest.skip(f"{STARLINGCTL} is not built (cargo build -p starlingctl)")


def ctl(etc, *args, stdin=None):
    return subprocess.run(
        [str(STARLINGCTL), *args, "--etc", str(etc)],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


@pytest.fixture
def etc(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "sm.toml").write_text('[storage]\npath = "var/users.db"\n')
    return etc


def users(etc, domain="example.test"):
    r = ctl(etc, "users", domain)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def credentials(etc, localpart):
    db = sqlite3.connect(etc / "var" / "users.db")
    try:
        return sorted(
            db.execute(
                "SELECT c.hash, c.iterations, c.salt, c.stored_key FROM credentials c "
                "JOIN accounts a ON a.id = c.account WHERE a.localpart = ?",
                (localpart,),
            ).fetchall()
        )
    finally:
        db.close()


def test_round_trip(etc):
    r = ctl(etc, "adduser", "Alice@Example.TEST", "pencil")
    assert r.returncode == 0, r.stderr
    assert "alice@example.test" in r.stdout
    assert "password:" not in r.stdout
    # The store lives where sm.toml says, relative to etc/.
    assert (etc / "var" / "users.db").exists()
    assert users(etc) == ["alice@example.test"]

    creds = credentials(etc, "alice")
    assert [c[0] for c in creds] == ["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"]
    assert all(c[1] >= 4096 for c in creds)

    r = ctl(etc, "adduser", "bob@example.test")
    assert r.returncode == 0, r.stderr
    generated = [l for l in r.stdout.splitlines() if l.startswith("password: ")]
    assert len(generated) == 1 and len(generated[0].split()[1]) >= 16
    assert users(etc) == ["alice@example.test", "bob@example.test"]
    assert users(etc, "other.test") == []

    r = ctl(etc, "passwd", "alice@example.test", "new-pencil")
    assert r.returncode == 0, r.stderr
    after = credentials(etc, "alice")
    assert len(after) == 3
    assert all(a[2] != b[2] and a[3] != b[3] for a, b in zip(creds, after))

    r = ctl(etc, "deluser", "alice@example.test")
    assert r.returncode == 0, r.stderr
    assert users(etc) == ["bob@example.test"]
    assert credentials(etc, "alice") == []


def test_password_from_stdin(etc):
    r = ctl(etc, "adduser", "carol@example.test", "-", stdin="secret words\n")
    assert r.returncode == 0, r.stderr
    assert "password:" not in r.stdout
    r = ctl(etc, "passwd", "carol@example.test")
    assert r.returncode == 0, r.stderr
    assert "password: " in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("adduser", "example.test", "pw"), "user@domain"),
        (("adduser", "a@b@c", "pw"), "not a valid JID"),
        (("adduser", "alice@example.test/res", "pw"), "not a valid JID"),
        (("passwd", "nobody@example.test", "pw"), "no such user"),
        (("deluser", "nobody@example.test"), "no such user"),
        (("users", "bad domain"), "domain"),
    ],
)
def test_errors(etc, args, message):
    r = ctl(etc, *args)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert message in r.stderr, r.stderr
    assert r.stderr.startswith("error: ")


def test_existing_user_is_an_error(etc):
    assert ctl(etc, "adduser", "dave@example.test", "pw").returncode == 0
    r = ctl(etc, "adduser", "DAVE@example.test", "other")
    assert r.returncode == 1
    assert "already exists" in r.stderr


def test_empty_password_rejected(etc):
    r = ctl(etc, "adduser", "erin@example.test", "")
    assert r.returncode == 1
    assert "password" in r.stderr
    assert users(etc) == []


def test_c2s_toml_fallback_and_missing_config(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    r = ctl(etc, "users", "example.test")
    assert r.returncode == 1
    assert "sm.toml" in r.stderr and "c2s.toml" in r.stderr
    (etc / "c2s.toml").write_text(f'[storage]\npath = "{tmp_path / "c2s.db"}"\n')
    assert ctl(etc, "adduser", "frank@example.test", "pw").returncode == 0
    assert (tmp_path / "c2s.db").exists()
    assert users(etc) == ["frank@example.test"]


def test_bad_storage_table_names_the_file(etc):
    (etc / "sm.toml").write_text('[storage]\npaht = "x"\n')
    r = ctl(etc, "users", "example.test")
    assert r.returncode == 1
    assert "sm.toml" in r.stderr and "paht" in r.stderr
