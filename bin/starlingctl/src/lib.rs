//! starlingctl: administration of a Starling installation. The binary (`main.rs`) only parses
//! the command line; each subcommand lives in its own module here.

pub mod accounts;
pub mod component;
pub mod daemons;
pub mod domain;
pub mod error;
pub mod files;
pub mod import_jabberd2;
pub mod init;
pub mod router_toml;
pub mod secret;
pub mod served;
pub mod store;
pub mod up;
pub mod user_data;
pub mod users;
pub mod xep0227;

pub use error::CtlError;
