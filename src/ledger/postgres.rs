//! The PostgreSQL store: a pool on a database that several replicas may share.
//!
//! Owns the connection settings (pool size, optional schema via `search_path`), the
//! PostgreSQL migrations and the row decoding (timestamps are TIMESTAMPTZ). Claims stay
//! correct across pools because each step is one autocommitted statement: concurrent
//! `INSERT … ON CONFLICT DO NOTHING` on one key wait for the first inserter and then do
//! nothing, and a conditional `UPDATE` that waited on the row lock re-checks its `WHERE`
//! against the committed winner (READ COMMITTED re-evaluation) and so matches no row.
//! Claims of results, and the leases of the evidence and write-back queues, are dated and
//! judged stale by the database's clock, never a replica's.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use super::claim::to_stored_precision;
use super::entry_sql;
use super::error::LedgerError;

static MIGRATOR: Migrator = sqlx::migrate!("src/ledger/migrations/postgres");

/// SQLSTATEs meaning "someone else created this schema at the same moment".
const DUPLICATE_SCHEMA: &str = "42P06";
const UNIQUE_VIOLATION: &str = "23505";

/// The ledger's ports ([`super::Ledger`], [`super::EvidenceQueue`],
/// [`super::WritebackLedger`]) on PostgreSQL.
pub(crate) struct PgLedger {
    pool: PgPool,
}

impl PgLedger {
    /// Opens `url` with a pool of `max_connections`, optionally confined to `schema` (created
    /// if missing), and runs the migrations.
    pub(crate) async fn connect(
        url: &str,
        max_connections: u32,
        schema: Option<&str>,
    ) -> Result<Self, LedgerError> {
        let mut options =
            PgConnectOptions::from_str(url).map_err(|e| LedgerError::InvalidUrl(e.to_string()))?;
        if let Some(schema) = schema {
            check_identifier(schema)?;
            create_schema(&options, schema).await?;
            // A startup parameter rather than `SET` in after_connect: it costs no round trip
            // and survives anything that resets session state.
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

/// Only plain identifiers are accepted, so the name can be spliced into DDL and a
/// `search_path` option without quoting rules to get wrong.
fn check_identifier(schema: &str) -> Result<(), LedgerError> {
    let mut chars = schema.chars();
    let valid = schema.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(LedgerError::InvalidUrl(format!(
            "schema {schema:?} is not a plain identifier"
        )))
    }
}

async fn create_schema(options: &PgConnectOptions, schema: &str) -> Result<(), LedgerError> {
    let mut conn = options.connect().await?;
    // Lower-cased because PostgreSQL folds the unquoted name in search_path the same way.
    let ddl = format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        schema.to_ascii_lowercase()
    );
    let created = sqlx::query(&ddl).execute(&mut conn).await;
    conn.close().await?;
    match created {
        Ok(_) => Ok(()),
        // IF NOT EXISTS is not race-free: two replicas starting together can both miss the
        // schema and one then trips over the other's catalog row. The schema exists either way.
        Err(sqlx::Error::Database(e))
            if e.code()
                .is_some_and(|c| c == DUPLICATE_SCHEMA || c == UNIQUE_VIOLATION) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Claims and queue leases are taken, renewed and judged by the database's clock: replicas
/// share this store, and their wall clocks may disagree by minutes. `_local` (the caller's
/// clock) is not used.
async fn database_clock(
    pool: &PgPool,
    _local: DateTime<Utc>,
) -> Result<DateTime<Utc>, LedgerError> {
    Ok(sqlx::query_scalar(entry_sql::sql::DATABASE_CLOCK)
        .fetch_one(pool)
        .await?)
}

/// A `TIMESTAMPTZ` column reads back as a time already.
fn read_timestamptz(t: DateTime<Utc>, _column: &str) -> Result<DateTime<Utc>, LedgerError> {
    Ok(t)
}

super::store::sql_store! {
    store: PgLedger,
    time: to_stored_precision,
    read_time: read_timestamptz,
    clock: database_clock,
    claim_evidence: crate::ledger::evidence_sql::sql::CLAIM_POSTGRES,
}

super::writeback_store::sql_writeback! {
    store: PgLedger,
    time: to_stored_precision,
    read_time: read_timestamptz,
    clock: database_clock,
    claim: crate::ledger::writeback_sql::sql::CLAIM_POSTGRES,
}
