//! usercom: a local implementation of the User.com destination for Segment.
//!
//! The crate is layered:
//! - [`semantics`]: what identify, page, track and group mean, attribute typing,
//!   identity and time; pure functions and value types, no database.
//! - [`store`]: the SQLite file (schema, migrations, typed queries); never prints.
//! - [`ingest`]: the one pipeline (source -> decode -> apply -> batched sink) that
//!   every front-end uses.
//! - [`output`] and [`commands`]: the command-line front-end.

pub mod api;
pub mod commands;
pub mod error;
pub mod ingest;
pub mod output;
pub mod semantics;
pub mod server;
pub mod store;

pub use error::Error;
