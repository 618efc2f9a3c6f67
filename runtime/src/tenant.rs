//! Tenant identifiers: validated once, at the edge, so that a guard never carries junk.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// The longest tenant id accepted, in bytes.
pub const MAX_TENANT_ID_LEN: usize = 128;

/// A validated tenant identifier (a slug such as `acme` or `org_42`).
///
/// Rules, each with its own [`InvalidTenantId`] variant: not empty; at most
/// [`MAX_TENANT_ID_LEN`] bytes; no whitespace anywhere (so `"acme "` is not a second
/// `"acme"`); no control, zero-width or bidirectional-override characters; otherwise
/// letters, digits and `- _ . : @ +`. Cloning is cheap (a reference count).
///
/// ```
/// use tenantry::TenantId;
/// let acme = TenantId::parse("acme")?;
/// assert_eq!(acme.as_str(), "acme");
/// assert!(TenantId::parse("acme\u{200b}").is_err());
/// assert!(TenantId::parse(" acme").is_err());
/// # Ok::<(), tenantry::InvalidTenantId>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(Arc<str>);

/// Why a string is not a valid [`TenantId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidTenantId {
    /// The id is empty.
    #[error("tenant id is empty")]
    Empty,
    /// The id is longer than [`MAX_TENANT_ID_LEN`] bytes.
    #[error("tenant id is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The id contains whitespace (leading, trailing or inside).
    #[error("tenant id contains whitespace at byte {at}")]
    Whitespace {
        /// Byte offset of the first whitespace.
        at: usize,
    },
    /// The id contains a control, zero-width or bidirectional-override character,
    /// which would make two different ids look the same.
    #[error("tenant id contains an invisible or control character U+{code:04X} at byte {at}")]
    Invisible {
        /// The character's code point.
        code: u32,
        /// Byte offset.
        at: usize,
    },
    /// The id contains a character outside letters, digits and `- _ . : @ +`.
    #[error("tenant id contains `{ch}` at byte {at}; allowed are letters, digits and - _ . : @ +")]
    Disallowed {
        /// The character.
        ch: char,
        /// Byte offset.
        at: usize,
    },
}

impl TenantId {
    /// Validates `s` as a tenant id.
    pub fn parse(s: &str) -> Result<Self, InvalidTenantId> {
        if s.is_empty() {
            return Err(InvalidTenantId::Empty);
        }
        if s.len() > MAX_TENANT_ID_LEN {
            return Err(InvalidTenantId::TooLong { len: s.len(), max: MAX_TENANT_ID_LEN });
        }
        for (at, ch) in s.char_indices() {
            if ch.is_whitespace() {
                return Err(InvalidTenantId::Whitespace { at });
            }
            if ch.is_control() || is_invisible(ch) {
                return Err(InvalidTenantId::Invisible { code: ch as u32, at });
            }
            if !(ch.is_alphanumeric() || matches!(ch, '-' | '_' | '.' | ':' | '@' | '+')) {
                return Err(InvalidTenantId::Disallowed { ch, at });
            }
        }
        Ok(TenantId(Arc::from(s)))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_invisible(ch: char) -> bool {
    matches!(ch,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFFF}' | '\u{E0000}'..='\u{E0FFF}')
}

impl std::str::FromStr for TenantId {
    type Err = InvalidTenantId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TenantId::parse(s)
    }
}

impl TryFrom<&str> for TenantId {
    type Error = InvalidTenantId;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        TenantId::parse(s)
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidTenantId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TenantId::parse(&s)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({:?})", &*self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A tenant id binds as text, exactly like the `&str` a hand-written query would bind.
impl<DB: sqlx::Database> sqlx::Type<DB> for TenantId
where
    str: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for TenantId
where
    for<'a> &'a str: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
    }
}

/// A set of tenant ids binds as a PostgreSQL `text[]`.
#[cfg(feature = "postgres")]
impl sqlx::postgres::PgHasArrayType for TenantId {
    fn array_type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::postgres::PgHasArrayType>::array_type_info()
    }
    fn array_compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <String as sqlx::postgres::PgHasArrayType>::array_compatible(ty)
    }
}

/// A type that identifies tenants: [`TenantId`] for slugs, `i64`/`i32` for integer keys,
/// `uuid::Uuid` with the `uuid` feature, or an application's own newtype over one of these.
///
/// The key binds as the tenant column's SQL type ([`TenantKey::key_value`]); it must be
/// cheap to clone. Policies and audit see it as text ([`TenantKey::key_str`]); job claims
/// carry it as text and parse it back ([`TenantKey::parse_key`]).
///
/// ```
/// use std::borrow::Cow;
/// use tenantry::{KeyKind, KeyValue, TenantKey};
///
/// /// An organisation's id, stored as `BIGINT`.
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// struct OrgId(i64);
///
/// impl std::fmt::Display for OrgId {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         self.0.fmt(f)
///     }
/// }
///
/// impl TenantKey for OrgId {
///     const KIND: KeyKind = KeyKind::I64;
///     fn key_str(&self) -> Cow<'_, str> {
///         Cow::Owned(self.0.to_string())
///     }
///     fn parse_key(s: &str) -> Option<Self> {
///         s.parse().ok().map(OrgId)
///     }
///     fn key_value(&self) -> KeyValue<'_> {
///         KeyValue::I64(self.0)
///     }
/// }
/// assert_eq!(OrgId(7).key_value().kind(), OrgId::KIND);
/// ```
pub trait TenantKey: Clone + fmt::Debug + fmt::Display + Send + Sync + 'static {
    /// How every key of this type binds; [`TenantKey::key_value`] returns this kind. A set
    /// of tenants ([`ScopeSet`](crate::ScopeSet)) binds as an array of it on PostgreSQL,
    /// also when it is empty.
    const KIND: KeyKind;

    /// The key as text, for policies, audit and claims.
    fn key_str(&self) -> Cow<'_, str>;

    /// Parses a key written by [`TenantKey::key_str`]; `None` when it is not one.
    fn parse_key(s: &str) -> Option<Self>;

    /// The key as the value generated statements bind to `:tenant`; of kind
    /// [`TenantKey::KIND`] (a value of another kind is never matched by a tenant set).
    fn key_value(&self) -> KeyValue<'_>;
}

/// The SQL type a [`TenantKey`] binds as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// Text (`TEXT`, `VARCHAR`).
    Text,
    /// A 64-bit integer (`BIGINT`).
    I64,
    /// A 32-bit integer (`INT`).
    I32,
    /// A UUID (feature `uuid`).
    #[cfg(feature = "uuid")]
    Uuid,
}

/// A tenant key as a bind value: what a generated statement binds to `:tenant`,
/// whatever the key type of the guard it was called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyValue<'a> {
    /// Binds as text, like a `&str`.
    Text(&'a str),
    /// Binds like an `i64`.
    I64(i64),
    /// Binds like an `i32`.
    I32(i32),
    /// Binds like a `uuid::Uuid` (feature `uuid`).
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
}

impl KeyValue<'_> {
    /// The kind of the value.
    pub fn kind(&self) -> KeyKind {
        match self {
            KeyValue::Text(_) => KeyKind::Text,
            KeyValue::I64(_) => KeyKind::I64,
            KeyValue::I32(_) => KeyKind::I32,
            #[cfg(feature = "uuid")]
            KeyValue::Uuid(_) => KeyKind::Uuid,
        }
    }
}

#[doc(hidden)]
/// The UUID arm of [`KeyValue`]'s encoding, present only with the `uuid` feature, so that
/// one `Encode` impl serves every backend with and without it.
pub trait UuidEncode<'q, DB: sqlx::Database> {
    /// Encodes the UUID.
    #[cfg(feature = "uuid")]
    fn encode_uuid(
        v: &uuid::Uuid,
        buf: &mut DB::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError>;
    /// Its SQL type.
    #[cfg(feature = "uuid")]
    fn uuid_type() -> DB::TypeInfo;
}

#[cfg(feature = "uuid")]
impl<'q, DB: sqlx::Database> UuidEncode<'q, DB> for ()
where
    uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    fn encode_uuid(
        v: &uuid::Uuid,
        buf: &mut DB::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <uuid::Uuid as sqlx::Encode<'q, DB>>::encode_by_ref(v, buf)
    }
    fn uuid_type() -> DB::TypeInfo {
        <uuid::Uuid as sqlx::Type<DB>>::type_info()
    }
}

#[cfg(not(feature = "uuid"))]
impl<DB: sqlx::Database> UuidEncode<'_, DB> for () {}

/// Declared as text; an integer or UUID value says its own type when it is bound
/// (`Encode::produces`), as sqlx asks of every argument.
impl<DB: sqlx::Database> sqlx::Type<DB> for KeyValue<'_>
where
    str: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as sqlx::Type<DB>>::type_info()
    }
}

impl<'q, 'k, DB: sqlx::Database> sqlx::Encode<'q, DB> for KeyValue<'k>
where
    &'k str: sqlx::Encode<'q, DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    (): UuidEncode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self {
            KeyValue::Text(s) => <&str as sqlx::Encode<'q, DB>>::encode(s, buf),
            KeyValue::I64(v) => <i64 as sqlx::Encode<'q, DB>>::encode_by_ref(v, buf),
            KeyValue::I32(v) => <i32 as sqlx::Encode<'q, DB>>::encode_by_ref(v, buf),
            #[cfg(feature = "uuid")]
            KeyValue::Uuid(v) => <() as UuidEncode<'q, DB>>::encode_uuid(v, buf),
        }
    }

    fn produces(&self) -> Option<DB::TypeInfo> {
        match self {
            KeyValue::Text(_) => None,
            KeyValue::I64(_) => Some(<i64 as sqlx::Type<DB>>::type_info()),
            KeyValue::I32(_) => Some(<i32 as sqlx::Type<DB>>::type_info()),
            #[cfg(feature = "uuid")]
            KeyValue::Uuid(_) => Some(<() as UuidEncode<'q, DB>>::uuid_type()),
        }
    }
}

impl TenantKey for TenantId {
    const KIND: KeyKind = KeyKind::Text;

    fn key_str(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
    fn parse_key(s: &str) -> Option<Self> {
        TenantId::parse(s).ok()
    }
    fn key_value(&self) -> KeyValue<'_> {
        KeyValue::Text(self.as_str())
    }
}

macro_rules! integer_keys {
    ($($t:ty => $kind:ident),*) => {$(
        impl TenantKey for $t {
            const KIND: KeyKind = KeyKind::$kind;

            fn key_str(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
            fn parse_key(s: &str) -> Option<Self> {
                s.parse().ok()
            }
            fn key_value(&self) -> KeyValue<'_> {
                KeyValue::$kind(*self)
            }
        }
    )*};
}
integer_keys!(i64 => I64, i32 => I32);

#[cfg(feature = "uuid")]
impl TenantKey for uuid::Uuid {
    const KIND: KeyKind = KeyKind::Uuid;

    fn key_str(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
    fn parse_key(s: &str) -> Option<Self> {
        uuid::Uuid::parse_str(s).ok()
    }
    fn key_value(&self) -> KeyValue<'_> {
        KeyValue::Uuid(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs_and_unicode_letters() {
        for ok in ["acme", "org_42", "a-b.c:d@e+f", "münchen", "x"] {
            assert_eq!(TenantId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn each_rule_has_its_error() {
        assert_eq!(TenantId::parse(""), Err(InvalidTenantId::Empty));
        assert_eq!(
            TenantId::parse(&"a".repeat(129)),
            Err(InvalidTenantId::TooLong { len: 129, max: MAX_TENANT_ID_LEN })
        );
        assert_eq!(TenantId::parse("acme "), Err(InvalidTenantId::Whitespace { at: 4 }));
        assert_eq!(TenantId::parse("ac\u{00A0}me"), Err(InvalidTenantId::Whitespace { at: 2 }));
        assert_eq!(TenantId::parse("ac\nme"), Err(InvalidTenantId::Whitespace { at: 2 }));
        assert_eq!(TenantId::parse("ac\u{0}me"), Err(InvalidTenantId::Invisible { code: 0, at: 2 }));
        assert_eq!(TenantId::parse("acme\u{200B}"), Err(InvalidTenantId::Invisible { code: 0x200B, at: 4 }));
        assert_eq!(TenantId::parse("\u{202E}acme"), Err(InvalidTenantId::Invisible { code: 0x202E, at: 0 }));
        assert_eq!(TenantId::parse("a'b"), Err(InvalidTenantId::Disallowed { ch: '\'', at: 1 }));
        assert_eq!(TenantId::parse("a/b"), Err(InvalidTenantId::Disallowed { ch: '/', at: 1 }));
    }

    #[test]
    fn messages_name_the_rule() {
        let e = TenantId::parse("acme\u{200B}").unwrap_err();
        assert_eq!(e.to_string(), "tenant id contains an invisible or control character U+200B at byte 4");
    }
}
