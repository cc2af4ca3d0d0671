-- jabberd2 mod_vacation (its `vacation-settings` table): the user's auto-reply text and the period
-- it applies in, as Unix seconds (NULL: open on that side).
CREATE TABLE vacation_settings (
    account INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    start   INTEGER,
    "end"   INTEGER,
    message TEXT NOT NULL
);

-- The senders (bare JIDs) already answered in the current vacation period; new settings forget them.
CREATE TABLE vacation_replies (
    account INTEGER NOT NULL REFERENCES vacation_settings (account) ON DELETE CASCADE,
    sender  TEXT NOT NULL,
    PRIMARY KEY (account, sender)
) WITHOUT ROWID;
