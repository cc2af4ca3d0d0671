-- XEP-0012 last activity: when each user last logged out, and the status text of the last
-- unavailable presence that session sent. One row per account, replaced at every logout.
CREATE TABLE last_activity (
    account INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    logout  INTEGER NOT NULL,           -- unix seconds
    status  TEXT NOT NULL DEFAULT ''
);
