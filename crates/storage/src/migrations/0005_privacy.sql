-- XEP-0016 privacy lists, each user's named lists of ordered items, and the user's default list.
-- XEP-0191 blocking keeps its blocklist in the default list (jid items that deny everything), so
-- both protocols share these tables.

CREATE TABLE privacy_lists (
    id      INTEGER PRIMARY KEY,
    account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    UNIQUE (account, name)
);

-- One rule of a list. `ord` is the item's 'order' attribute, unique in its list and processed
-- ascending; `type` NULL is the fall-through item (`value` then ''). The four stanza columns are
-- the item's child elements; all four 0 means every stanza, both ways.
CREATE TABLE privacy_items (
    list         INTEGER NOT NULL REFERENCES privacy_lists (id) ON DELETE CASCADE,
    ord          INTEGER NOT NULL CHECK (ord >= 0),
    type         TEXT CHECK (type IN ('jid', 'group', 'subscription')),
    value        TEXT NOT NULL,
    allow        INTEGER NOT NULL,
    message      INTEGER NOT NULL,
    iq           INTEGER NOT NULL,
    presence_in  INTEGER NOT NULL,
    presence_out INTEGER NOT NULL,
    PRIMARY KEY (list, ord)
) WITHOUT ROWID;

-- The user's default list; no row when the user has none (or declined it).
CREATE TABLE privacy_defaults (
    account INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    list    INTEGER NOT NULL REFERENCES privacy_lists (id) ON DELETE CASCADE
);
CREATE INDEX privacy_defaults_list ON privacy_defaults (list);
