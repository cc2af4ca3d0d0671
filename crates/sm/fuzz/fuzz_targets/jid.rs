//! JIDs as they arrive from the wire (stanza `to`/`from`, roster items, session-control targets)
//! through the sm's one parser, and resources as a client asks to bind them.
//!
//! Checks: no panic; the parsed form is a fixed point (parsing what it prints gives it back, so
//! two spellings of one address always compare equal after one parse); the bare JID and the
//! user of an address agree; binding a resource keeps the bare JID.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sm::stanza::{parse_jid, user_of};

fuzz_target!(|text: &str| {
    let (address, resource) = text.split_once('\u{0}').unwrap_or((text, ""));
    let Some(jid) = parse_jid(address) else {
        return;
    };
    assert_eq!(parse_jid(jid.as_str()).as_ref(), Some(&jid), "{address:?}");
    let bare = jid.to_bare();
    assert_eq!(parse_jid(bare.as_str()).map(|j| j.to_bare()), Some(bare.clone()));
    match user_of(&jid) {
        Some(user) => assert_eq!(user, bare),
        None => assert!(jid.node().is_none()),
    }
    if let Ok(full) = bare.with_resource_str(resource) {
        assert_eq!(full.to_bare(), bare);
        assert_eq!(parse_jid(full.as_str()).map(|j| j.to_bare()), Some(bare));
    }
});
