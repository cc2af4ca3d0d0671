//! What a session keeps of privacy: its XEP-0016 active list, whether it asked for the XEP-0191
//! blocklist (and so gets block and unblock pushes), and the user's lists as last read from
//! storage, read again after every change.

use std::rc::Rc;

use storage::PrivacyList;

#[derive(Debug, Clone, Default)]
pub struct SessionPrivacy {
    /// The name of the session's active list; `None`: the default list applies (rule 2).
    pub active: Option<String>,
    /// Asked for the blocklist (XEP-0191 §3.3: pushes go to these sessions).
    pub wants_blocklist: bool,
    /// The lists as read from storage; `None` until first needed after a change.
    pub lists: Option<Lists>,
}

/// The lists a session may apply.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    pub default: Option<Rc<PrivacyList>>,
    pub active: Option<Rc<PrivacyList>>,
}

impl Lists {
    /// Rule 1 and 2: the active list if there is one, else the default list (no layering).
    pub fn applying(&self) -> Option<&Rc<PrivacyList>> {
        self.active.as_ref().or(self.default.as_ref())
    }
}
