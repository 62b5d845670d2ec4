//! The ledger layer's one error type, shared by both ports and both stores.

/// Why a ledger call failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store is unreachable or a SQL statement failed.
    #[error("ledger store failed: {0}")]
    Store(#[source] sqlx::Error),
    /// Running the embedded migrations failed.
    #[error("ledger migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The claim is no longer held by this owner (taken over, released or never held).
    #[error("ledger claim is no longer held by this owner")]
    ClaimLost,
    /// A stored row cannot be read back as an entry.
    #[error("corrupt ledger row: {0}")]
    Corrupt(String),
    /// The store URL is malformed or names an unsupported store.
    #[error("invalid ledger URL: {0}")]
    InvalidUrl(String),
}

impl From<sqlx::Error> for LedgerError {
    fn from(e: sqlx::Error) -> Self {
        LedgerError::Store(e)
    }
}

impl From<sqlx::migrate::MigrateError> for LedgerError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        LedgerError::Migrate(e)
    }
}

/// Maps the row count of an owner-guarded write (one row at most) to its result: a write
/// that matched no row means the owner no longer holds the claim or lease.
pub(crate) fn held(rows_affected: u64) -> Result<(), LedgerError> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(LedgerError::ClaimLost)
    }
}
