-- Message of the day (jabberd2's motd-message and motd-times): per hosted domain, the <message/>
-- as XML text and when it was set (microseconds since the Unix epoch, strictly increasing per
-- domain); per user, the set time of the last message of the day they were sent.
CREATE TABLE motd (
    domain  TEXT PRIMARY KEY,
    message TEXT NOT NULL,
    set_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE motd_seen (
    account INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    seen    INTEGER NOT NULL
);
