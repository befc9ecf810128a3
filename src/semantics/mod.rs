//! The destination's semantics: pure functions and value types, no database.

pub mod api_key;
pub mod attributes;
pub mod company;
pub mod context;
pub mod diff;
pub mod domains;
pub mod event;
pub mod filter;
pub mod lww;
pub mod packed;
pub mod profile;
pub mod provenance;
pub mod snapshot;
pub mod time;
