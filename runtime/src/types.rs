//! What a repository method's arguments and rows may be: the traits generated code asks
//! of them, named so that a type that does not fit is one error saying what to derive.

use sqlx::{Database, Encode, Type};

/// A type a repository method returns rows of: every `sqlx::FromRow` of the backend's row.
///
/// Derive `sqlx::FromRow` for a struct whose fields are the statement's columns. A method
/// that returns one column's value of a type of your own (a `sqlx::Type` newtype, an alias,
/// a date, a UUID) is marked `#[scalar]` instead, and its type is a [`ColumnType`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a row type: it does not implement `sqlx::FromRow`",
    label = "each row decodes into this type",
    note = "derive `sqlx::FromRow` for a struct whose fields are the statement's columns",
    note = "for the value of a single column (a `sqlx::Type` newtype, a `type` alias, a date, a UUID), mark the method `#[scalar]`"
)]
pub trait RowType<DB: Database>: for<'r> sqlx::FromRow<'r, DB::Row> + Send {}

#[diagnostic::do_not_recommend]
impl<DB: Database, T: for<'r> sqlx::FromRow<'r, DB::Row> + Send> RowType<DB> for T {}

/// A type a `#[scalar]` method returns the single column of: every type sqlx decodes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be decoded from a column: it does not implement `sqlx::Decode` and `sqlx::Type`",
    label = "the statement's single column decodes into this type",
    note = "derive `sqlx::Type` for a newtype (`#[sqlx(transparent)]`), or use a type sqlx decodes",
    note = "for rows of several columns, drop `#[scalar]` and derive `sqlx::FromRow`"
)]
pub trait ColumnType<DB: Database>: for<'r> sqlx::Decode<'r, DB> + Type<DB> + Send {}

#[diagnostic::do_not_recommend]
impl<DB: Database, T: for<'r> sqlx::Decode<'r, DB> + Type<DB> + Send> ColumnType<DB> for T {}

/// A type a repository method's argument binds as: every type sqlx encodes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be bound as a statement parameter: it does not implement `sqlx::Encode` and `sqlx::Type`",
    label = "this argument binds to its `:placeholder`",
    note = "derive `sqlx::Type` for a newtype (`#[sqlx(transparent)]`), or pass a type sqlx encodes (`i64`, `&str`, `Option<T>`, ...)"
)]
pub trait Bindable<'q, DB: Database>: Encode<'q, DB> + Type<DB> {}

#[diagnostic::do_not_recommend]
impl<'q, DB: Database, T: Encode<'q, DB> + Type<DB>> Bindable<'q, DB> for T {}
