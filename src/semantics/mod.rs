//! The destination's semantics: pure functions and value types, no database.

pub mod api_key;
pub mod attributes;
pub mod company;
pub mod context;
pub mod delivery;
pub mod device;
pub mod diff;
pub mod domains;
pub mod event;
pub mod event_time;
pub mod filter;
pub mod identity;
pub mod lww;
pub mod owner;
pub mod prepared;
pub mod profile;
pub mod provenance;
pub mod snapshot;
pub mod time;
pub mod user_fields;
pub mod wire;
