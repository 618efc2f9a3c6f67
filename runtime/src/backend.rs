//! What differs between the backends at run time, in one table: how `:tenant` binds and
//! how a statement's outcome is read.
//!
//! One key binds as its own type ([`KeyValue`]) everywhere. A set of tenants binds in the
//! form the statement's set rewrite reads: a typed array on PostgreSQL (`= ANY($1)`), a
//! JSON array on SQLite (`IN (SELECT value FROM json_each(?))`), a comma-separated list
//! on MySQL (`FIND_IN_SET(tenant_id, ?)`).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Encode, Pool, Type};

use crate::guard::TenantBind;
use crate::isolation::AuditFuture;
use crate::set::SetInner;
use crate::{KeyValue, TenantTable};

/// A backend generated repositories run on.
#[doc(hidden)]
pub trait Backend: Database + sqlx::database::HasStatementCache {
    /// Encodes a set of tenants.
    fn encode_set(set: &SetInner, buf: &mut Self::ArgumentBuffer) -> Result<IsNull, BoxDynError>;
    /// The set's SQL type.
    fn set_type(set: &SetInner) -> Self::TypeInfo;
    /// The rows a statement affected.
    fn rows_affected(result: &Self::QueryResult) -> u64;
    /// The backend's catalogue checks of [`Db::verify_isolation`](crate::Db::verify_isolation).
    fn audit_isolation<'a>(pool: &'a Pool<Self>, tables: &'a [TenantTable]) -> AuditFuture<'a>;
}

#[cfg(feature = "sqlite")]
impl Backend for sqlx::Sqlite {
    fn encode_set(set: &SetInner, buf: &mut Self::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'_, Self>>::encode(&set.json, buf)
    }
    fn set_type(_: &SetInner) -> Self::TypeInfo {
        <str as Type<Self>>::type_info()
    }
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    fn audit_isolation<'a>(pool: &'a Pool<Self>, tables: &'a [TenantTable]) -> AuditFuture<'a> {
        Box::pin(crate::isolation::sqlite::audit(pool, tables))
    }
}

#[cfg(feature = "mysql")]
impl Backend for sqlx::MySql {
    fn encode_set(set: &SetInner, buf: &mut Self::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'_, Self>>::encode(&set.csv, buf)
    }
    fn set_type(_: &SetInner) -> Self::TypeInfo {
        <str as Type<Self>>::type_info()
    }
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    fn audit_isolation<'a>(pool: &'a Pool<Self>, tables: &'a [TenantTable]) -> AuditFuture<'a> {
        Box::pin(crate::isolation::mysql::audit(pool, tables))
    }
}

#[cfg(feature = "postgres")]
impl Backend for sqlx::Postgres {
    fn encode_set(set: &SetInner, buf: &mut Self::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        use crate::set::KeyArray;
        match &set.array {
            KeyArray::Text(v) => <Vec<String> as Encode<'_, Self>>::encode_by_ref(v, buf),
            KeyArray::I64(v) => <Vec<i64> as Encode<'_, Self>>::encode_by_ref(v, buf),
            KeyArray::I32(v) => <Vec<i32> as Encode<'_, Self>>::encode_by_ref(v, buf),
            #[cfg(feature = "uuid")]
            KeyArray::Uuid(v) => <Vec<uuid::Uuid> as Encode<'_, Self>>::encode_by_ref(v, buf),
        }
    }
    fn set_type(set: &SetInner) -> Self::TypeInfo {
        use crate::set::KeyArray;
        match &set.array {
            KeyArray::Text(_) => <Vec<String> as Type<Self>>::type_info(),
            KeyArray::I64(_) => <Vec<i64> as Type<Self>>::type_info(),
            KeyArray::I32(_) => <Vec<i32> as Type<Self>>::type_info(),
            #[cfg(feature = "uuid")]
            KeyArray::Uuid(_) => <Vec<uuid::Uuid> as Type<Self>>::type_info(),
        }
    }
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    fn audit_isolation<'a>(pool: &'a Pool<Self>, tables: &'a [TenantTable]) -> AuditFuture<'a> {
        Box::pin(crate::isolation::postgres::audit(pool, tables))
    }
}

/// Declared as text; a key of another type and a set say their own type when bound.
impl<DB: Backend> Type<DB> for TenantBind<'_>
where
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as Type<DB>>::type_info()
    }
}

impl<'q, 'k, DB: Backend> Encode<'q, DB> for TenantBind<'k>
where
    KeyValue<'k>: Encode<'q, DB>,
    Option<&'k str>: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        match self {
            TenantBind::Null => <Option<&str> as Encode<'q, DB>>::encode(None, buf),
            TenantBind::One(key) => key.encode_by_ref(buf),
            TenantBind::Set(set) => DB::encode_set(set, buf),
        }
    }

    fn produces(&self) -> Option<DB::TypeInfo> {
        match self {
            TenantBind::Null => None,
            TenantBind::One(key) => key.produces(),
            TenantBind::Set(set) => Some(DB::set_type(set)),
        }
    }
}
