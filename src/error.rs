//! Errors that callers branch on, each with the exit code the contract gives it.

/// An error with a meaning for the command line. Anything else is an internal failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unknown or revoked API key, or an untrusted domain (exit 3, nothing applied).
    #[error("403 Forbidden: {0}")]
    Forbidden(String),
    /// Wrong flags or arguments, or input that cannot be read at all (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The thing asked for does not exist (exit 1).
    #[error("{0}")]
    NotFound(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Forbidden(_) => exit::FORBIDDEN,
            Error::Usage(_) => exit::USAGE,
            Error::NotFound(_) => exit::PARTIAL,
        }
    }
}

/// Exit codes, as in the command-line contract.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Ingest finished but some events were rejected; or the thing asked for is unknown.
    pub const PARTIAL: i32 = 1;
    /// Usage error or unreadable input.
    pub const USAGE: i32 = 2;
    /// Forbidden: API key unknown or revoked.
    pub const FORBIDDEN: i32 = 3;
    /// Any other failure (database, disk, ...).
    pub const FAILURE: i32 = 4;
}
