-- XEP-0054 vcard-temp: each user's vCard, the <vCard xmlns='vcard-temp'/> element as XML text.
CREATE TABLE vcards (
    account INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    vcard   TEXT NOT NULL
);

-- XEP-0049 private XML storage: per user and namespace, the stored elements as XML text.
CREATE TABLE private_xml (
    account   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    namespace TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (account, namespace)
) WITHOUT ROWID;
