//! Type widening: which Arrow type changes the `typeWidening` feature allows.

use super::*;

/// Whether the `typeWidening` table feature allows values of Arrow type `from` (a data file's
/// type) to be read as Arrow type `to` (the table's type), per the protocol's "Type Widening":
///
/// - integers: `Int8` → `Int16` → `Int32` → `Int64` (transitively);
/// - floating point: `Float32` → `Float64`, and `Int8`, `Int16`, `Int32` → `Float64`;
/// - dates: `Date32` → `Timestamp(Microsecond, None)` (`timestamp_ntz`);
/// - decimals: `decimal(p, s)` → `decimal(p + k1, s + k2)` with `k1 >= k2 >= 0`, whatever the
///   Arrow decimal width (so a `Decimal64(10,2)` file column may also be read as
///   `Decimal128(10,2)`);
/// - integers to decimals: `Int8`, `Int16`, `Int32` → `decimal(10 + k1, k2)`, `Int64` →
///   `decimal(20 + k1, k2)`, with `k1 >= k2 >= 0`;
/// - nested types: lists (same list kind), maps and structs (same field names in the same
///   order) whose children are each equal or widened, at least one being widened.
///
/// Identical types are not a widening (`false`); neither is any narrowing or other change.
///
/// ```
/// use arrow::datatypes::{DataType, TimeUnit};
/// use tidemark_core::schema::is_widening;
///
/// assert!(is_widening(&DataType::Int8, &DataType::Int64));
/// assert!(is_widening(&DataType::Int32, &DataType::Decimal128(10, 0)));
/// assert!(!is_widening(&DataType::Int32, &DataType::Decimal128(10, 1)));
/// assert!(is_widening(&DataType::Date32, &DataType::Timestamp(TimeUnit::Microsecond, None)));
/// assert!(!is_widening(&DataType::Int64, &DataType::Int32));
/// assert!(!is_widening(&DataType::Int64, &DataType::Float64));
/// ```
pub fn is_widening(from: &ArrowDataType, to: &ArrowDataType) -> bool {
    use ArrowDataType as T;
    if from == to {
        return false;
    }
    match (from, to) {
        (T::Int8, T::Int16 | T::Int32 | T::Int64)
        | (T::Int16, T::Int32 | T::Int64)
        | (T::Int32, T::Int64)
        | (T::Int8 | T::Int16 | T::Int32, T::Float64)
        | (T::Float32, T::Float64) => true,
        (T::Date32, T::Timestamp(TimeUnit::Microsecond, None)) => true,
        (T::List(a), T::List(b))
        | (T::LargeList(a), T::LargeList(b))
        | (T::ListView(a), T::ListView(b))
        | (T::LargeListView(a), T::LargeListView(b)) => {
            child_change(a.data_type(), b.data_type()) == Some(true)
        }
        (T::Map(a, _), T::Map(b, _)) => children_widening(
            &entry_types(a.data_type()),
            &entry_types(b.data_type()),
            true,
        ),
        (T::Struct(a), T::Struct(b)) => {
            a.len() == b.len()
                && a.iter().zip(b.iter()).all(|(x, y)| x.name() == y.name())
                && children_widening(
                    &a.iter().map(|f| f.data_type()).collect::<Vec<_>>(),
                    &b.iter().map(|f| f.data_type()).collect::<Vec<_>>(),
                    false,
                )
        }
        _ => match (decimal_parameters(from), decimal_parameters(to)) {
            (Some(source), Some(target)) => decimal_widening(source, target),
            (None, Some((precision, scale))) => match integer_digits(from) {
                Some(digits) => scale >= 0 && i16::from(precision) - digits >= i16::from(scale),
                None => false,
            },
            _ => false,
        },
    }
}

/// `Some(false)` when two child types are equal, `Some(true)` when the second widens the first,
/// `None` otherwise.
pub(super) fn child_change(from: &ArrowDataType, to: &ArrowDataType) -> Option<bool> {
    if from.equals_datatype(to) {
        Some(false)
    } else if is_widening(from, to) {
        Some(true)
    } else {
        None
    }
}

/// Whether each pair of children is equal or widened and at least one is widened.
/// `exact_count` map entries must be exactly key and value.
pub(super) fn children_widening(
    from: &[&ArrowDataType],
    to: &[&ArrowDataType],
    exact_count: bool,
) -> bool {
    if from.len() != to.len() || (exact_count && from.len() != 2) {
        return false;
    }
    let mut widened = false;
    for (a, b) in from.iter().zip(to.iter()) {
        match child_change(a, b) {
            Some(w) => widened |= w,
            None => return false,
        }
    }
    widened
}

/// The child types of a map's entries struct.
pub(super) fn entry_types(entries: &ArrowDataType) -> Vec<&ArrowDataType> {
    match entries {
        ArrowDataType::Struct(fields) => fields.iter().map(|f| f.data_type()).collect(),
        _ => Vec::new(),
    }
}

/// Precision and scale of any Arrow decimal type.
pub(super) fn decimal_parameters(data_type: &ArrowDataType) -> Option<(u8, i8)> {
    match data_type {
        ArrowDataType::Decimal32(p, s)
        | ArrowDataType::Decimal64(p, s)
        | ArrowDataType::Decimal128(p, s)
        | ArrowDataType::Decimal256(p, s) => Some((*p, *s)),
        _ => None,
    }
}

/// `decimal(p, s)` → `decimal(p + k1, s + k2)` with `k1 >= k2 >= 0`.
pub(super) fn decimal_widening((p1, s1): (u8, i8), (p2, s2): (u8, i8)) -> bool {
    let k1 = i16::from(p2) - i16::from(p1);
    let k2 = i16::from(s2) - i16::from(s1);
    k2 >= 0 && k1 >= k2
}

/// The number of integer digits a decimal needs to hold every value of an integer type, as the
/// protocol defines it for integer → decimal widening.
pub(super) fn integer_digits(data_type: &ArrowDataType) -> Option<i16> {
    match data_type {
        ArrowDataType::Int8 | ArrowDataType::Int16 | ArrowDataType::Int32 => Some(10),
        ArrowDataType::Int64 => Some(20),
        _ => None,
    }
}
