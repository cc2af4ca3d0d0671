//! The Starling daemons starlingctl knows: their config file, executable and start order.
//! Adding a daemon to the suite means adding a row here (and its template once it has one).

/// One daemon of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Daemon {
    /// Short name: the label on its output, the stem of its config file, its router account.
    pub name: &'static str,
    /// The executable, looked up next to starlingctl and then in PATH.
    pub executable: &'static str,
    /// The commented config file `starlingctl init` starts from, once the daemon exists.
    pub template: Option<&'static str>,
}

impl Daemon {
    /// `router.toml`, `c2s.toml`, …
    pub fn config_file(&self) -> String {
        format!("{}.toml", self.name)
    }
}

/// The router's template: the repository's own commented `etc/router.toml`, so that the file
/// `init` writes documents every key exactly as the shipped example does.
pub const ROUTER_TEMPLATE: &str = include_str!("../../../etc/router.toml");

pub const C2S_TEMPLATE: &str = include_str!("../../../etc/c2s.toml");
pub const SM_TEMPLATE: &str = include_str!("../../../etc/sm.toml");

pub const ROUTER: Daemon = Daemon {
    name: "router",
    executable: "starling-router",
    template: Some(ROUTER_TEMPLATE),
};

/// Every daemon, in start order: the router first, since everything else connects to it.
pub const DAEMONS: &[Daemon] = &[
    ROUTER,
    Daemon {
        name: "c2s",
        executable: "starling-c2s",
        template: Some(C2S_TEMPLATE),
    },
    Daemon {
        name: "sm",
        executable: "starling-sm",
        template: Some(SM_TEMPLATE),
    },
    Daemon {
        name: "s2s",
        executable: "starling-s2s",
        template: None,
    },
    Daemon {
        name: "resolver",
        executable: "starling-resolver",
        template: None,
    },
];
