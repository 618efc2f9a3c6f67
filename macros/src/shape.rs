//! What a method returns, read off its declared return type.

use syn::{GenericArgument, PathArguments, Type};

/// The declared `Result<...>` payload.
pub enum Shape {
    /// `Vec<T>`: every row.
    Many(Row),
    /// `Option<T>`: zero or one row.
    Optional(Row),
    /// `T`: exactly one row.
    One(Row),
    /// `u64`: rows affected.
    RowsAffected,
    /// `()`: run it, ignore the outcome.
    Unit,
    /// `RowStream<'_, T>`: rows decoded one at a time.
    Stream(Row),
}

/// How a row decodes.
pub struct Row {
    pub ty: Type,
    /// A single column's value (`i64`, `String`, a `sqlx::Type` newtype with `#[scalar]`)
    /// rather than a `FromRow` struct.
    pub scalar: bool,
}

/// Types that are a column's value whatever the method says: the primitives and `String`,
/// which sqlx never implements `FromRow` for (nor can a user: both are foreign). Any other
/// type is a `FromRow` row unless the method is marked `#[scalar]`; the name of a type
/// is never taken to mean a library's type (a user's own `Date` is a row).
const PRIMITIVES: &[&str] = &["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64", "bool", "String"];

impl Shape {
    /// Reads `Result<X>`; `None` when the type is not a `Result`. `scalar`: the method
    /// is marked `#[scalar]`.
    pub fn of(output: &Type, scalar: bool) -> Option<Shape> {
        let row = |t: &Type| Row::of(t, scalar);
        if let Some(t) = generic_of(output, "RowStream") {
            return Some(Shape::Stream(row(t)));
        }
        let payload = generic_of(output, "Result")?;
        Some(if let Some(t) = generic_of(payload, "Vec") {
            Shape::Many(row(t))
        } else if let Some(t) = generic_of(payload, "Option") {
            Shape::Optional(row(t))
        } else if is_named(payload, "u64") {
            Shape::RowsAffected
        } else if matches!(payload, Type::Tuple(t) if t.elems.is_empty()) {
            Shape::Unit
        } else {
            Shape::One(row(payload))
        })
    }

    pub fn reads_rows(&self) -> bool {
        matches!(self, Shape::Many(_) | Shape::Optional(_) | Shape::One(_) | Shape::Stream(_))
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Shape::Many(_) => "`Vec<T>`",
            Shape::Optional(_) => "`Option<T>`",
            Shape::One(_) => "`T` (exactly one row)",
            Shape::RowsAffected => "`u64` (rows affected)",
            Shape::Unit => "`()`",
            Shape::Stream(_) => "`RowStream<T>`",
        }
    }
}

impl Row {
    fn of(ty: &Type, scalar: bool) -> Row {
        let primitive = PRIMITIVES.iter().any(|p| is_named(ty, p))
            || generic_of(ty, "Vec").is_some_and(|t| is_named(t, "u8"))
            || generic_of(ty, "Option").is_some_and(|t| Row::of(t, false).scalar);
        Row { ty: ty.clone(), scalar: scalar || primitive }
    }
}

fn is_named(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 && p.path.segments[0].ident == name)
}

/// `T` of `Name<T, ...>`.
fn generic_of<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}
