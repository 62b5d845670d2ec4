//! The ledger layer's one error type, shared by both ports and both stores.

/// Why a ledger call failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store is unreachable or a SQL statement failed.
    #[error("ledger store failed: {0}")]
    Store(#[source] sqlx::Error),
    /// The store's disk is full: the statement wrote nothing.
    #[error("the ledger's disk is full; free space where the ledger is stored: {0}")]
    DiskFull(#[source] sqlx::Error),
    /// The store refuses writes (a read-only file, folder, disk or database): the statement
    /// wrote nothing.
    #[error("the ledger is read-only; make it writable for the bridge: {0}")]
    ReadOnly(#[source] sqlx::Error),
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

/// Sorts a store failure an administrator must fix (a full disk, a read-only ledger) from
/// the rest, so the answer says what to do rather than only that the store failed.
impl From<sqlx::Error> for LedgerError {
    fn from(e: sqlx::Error) -> Self {
        match e.as_database_error().map(Condition::of) {
            Some(Condition::DiskFull) => LedgerError::DiskFull(e),
            Some(Condition::ReadOnly) => LedgerError::ReadOnly(e),
            _ => LedgerError::Store(e),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for LedgerError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        LedgerError::Migrate(e)
    }
}

/// What a store's error says about the disk under it.
enum Condition {
    DiskFull,
    ReadOnly,
    Other,
}

impl Condition {
    /// SQLite: an (extended) result code whose primary code is `SQLITE_FULL` (13) or
    /// `SQLITE_READONLY` (8). PostgreSQL: SQLSTATE `53100` (disk_full) or `25006`
    /// (read_only_sql_transaction, e.g. a standby).
    fn of(error: &dyn sqlx::error::DatabaseError) -> Self {
        const SQLITE_READONLY: u32 = 8;
        const SQLITE_FULL: u32 = 13;
        let code = error.code().unwrap_or_default();
        if error
            .try_downcast_ref::<sqlx::sqlite::SqliteError>()
            .is_some()
        {
            match code.parse::<u32>().map(|c| c & 0xff) {
                Ok(SQLITE_FULL) => Condition::DiskFull,
                Ok(SQLITE_READONLY) => Condition::ReadOnly,
                _ => Condition::Other,
            }
        } else {
            match &*code {
                "53100" => Condition::DiskFull,
                "25006" => Condition::ReadOnly,
                _ => Condition::Other,
            }
        }
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
