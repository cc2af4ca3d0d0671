-- Inbound presence subscription requests not answered yet (RFC 6121 §3.1.3): the complete stanza,
-- one per contact (the first one), delivered again whenever the user becomes available until
-- answered. A request from someone not in the user's roster lives only here: the roster gets no
-- item for them until the user approves (§3.1.3, §3.3.3).
CREATE TABLE subscription_requests (
    id      INTEGER PRIMARY KEY,        -- arrival order
    account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact TEXT NOT NULL,              -- bare JID
    stanza  TEXT NOT NULL,
    UNIQUE (account, contact)
);

-- Schema 1 kept such requests as roster items with only pending-in set and no name or groups:
-- they become requests (the stanza rebuilt without its extended content, which was not kept).
INSERT INTO subscription_requests (account, contact, stanza)
SELECT r.account, r.contact,
       '<presence xmlns=''jabber:client'' type=''subscribe'' from=''' || r.contact
           || ''' to=''' || a.localpart || '@' || a.domain || '''/>'
FROM roster_items r JOIN accounts a ON a.id = r.account
WHERE r.pending_in = 1
ORDER BY r.id;

DELETE FROM roster_items
WHERE subscription = 'none' AND ask_out = 0 AND pending_in = 1 AND name IS NULL
  AND NOT EXISTS (SELECT 1 FROM roster_groups g WHERE g.item = roster_items.id);
