//! Starling's user data: accounts with their SCRAM credentials, rosters with XEP-0237 versions,
//! pending subscription requests, offline messages, last logout times, vCards, private XML,
//! privacy lists (XEP-0016, also holding XEP-0191's blocklist). The contract is
//! docs/storage-api.md.
//!
//! SQLite (bundled, WAL) behind one dedicated thread that owns the connection ([`actor`]); every
//! method is `async` and never blocks the runtime. Per-user data references the account row with
//! `ON DELETE CASCADE`, so writes for a JID without an account fail with
//! [`StorageError::UnknownUser`].

mod accounts;
mod actor;
mod config;
mod connection;
mod error;
mod last_activity;
pub mod migrations;
mod motd;
mod offline;
mod portable;
mod privacy;
mod privacy_types;
mod private;
mod roster;
mod rows;
mod storage;
mod subscription_requests;
mod types;
mod vacation;
mod vcard;

pub use config::StorageConfig;
pub use error::StorageError;
pub use last_activity::LastLogout;
pub use motd::Motd;
pub use privacy_types::{PrivacyItem, PrivacyList, PrivacyMatch, PrivacyStanzas};
pub use storage::Storage;
pub use types::{RosterChange, RosterItem, Subscription};
pub use vacation::Vacation;

/// Re-exported so callers name the same types as the API.
pub use jid::BareJid;
pub use sasl_server::{ScramCredentials, ScramHash};
