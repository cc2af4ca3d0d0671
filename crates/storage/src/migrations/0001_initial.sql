-- Accounts and everything that belongs to them. Every per-user table references accounts(id)
-- with ON DELETE CASCADE, so deleting the account row deletes the user's data.

CREATE TABLE accounts (
    id        INTEGER PRIMARY KEY,
    localpart TEXT NOT NULL,            -- nodeprepped, as the jid crate normalises it
    domain    TEXT NOT NULL,
    created   INTEGER NOT NULL,         -- unix seconds
    UNIQUE (domain, localpart)
);

-- One SCRAM record per hash ("SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"); never a password.
CREATE TABLE credentials (
    account    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    salt       BLOB NOT NULL,
    iterations INTEGER NOT NULL,
    stored_key BLOB NOT NULL,
    server_key BLOB NOT NULL,
    PRIMARY KEY (account, hash)
) WITHOUT ROWID;

CREATE TABLE roster_items (
    id           INTEGER PRIMARY KEY,
    account      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact      TEXT NOT NULL,         -- bare JID
    name         TEXT,
    subscription TEXT NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
    ask_out      INTEGER NOT NULL DEFAULT 0,
    pending_in   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, contact)
);

-- position keeps the groups in the order the client sent them.
CREATE TABLE roster_groups (
    item     INTEGER NOT NULL REFERENCES roster_items (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (item, name)
) WITHOUT ROWID;

-- The user's current roster version (XEP-0237), and the newest version whose change was pruned
-- from roster_changes: versions below it can no longer be answered with a diff.
CREATE TABLE roster_versions (
    account INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    pruned  INTEGER NOT NULL DEFAULT 0
);

-- The latest change per contact (older ones are superseded: a diff only needs each contact's
-- latest state), so that a client holding an old version gets exactly what it missed. Bounded:
-- the oldest rows are pruned beyond a limit per user, raising roster_versions.pruned.
CREATE TABLE roster_changes (
    account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    contact TEXT NOT NULL,
    removed INTEGER NOT NULL,
    PRIMARY KEY (account, version)
) WITHOUT ROWID;

-- Offline messages (XEP-0160), delivered in seq order.
CREATE TABLE offline (
    account   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    stanza    TEXT NOT NULL,
    stored_at INTEGER NOT NULL,         -- unix seconds, for XEP-0203 delay stamps and expiry
    PRIMARY KEY (account, seq)
) WITHOUT ROWID;
