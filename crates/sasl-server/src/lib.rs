//! SASL mechanisms. (work in progress)
mod failure;
mod hash;
pub use failure::Failure;
pub use hash::ScramHash;
