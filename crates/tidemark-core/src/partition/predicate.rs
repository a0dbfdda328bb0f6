//! Predicates over the partition values of a table's data files, such as
//! `region = 'EU' AND day >= '2024-01-01'`: the condition of a replace-where write, and of the
//! conflict checks that ask whether a concurrent commit touched the same partitions.
//!
//! A [`PartitionPredicate`] is parsed against the table schema, with every literal converted to
//! its column's type, and evaluated against `add.partitionValues` (keyed by physical name) under
//! SQL three-valued logic. Values are compared by type: numbers numerically (decimals exactly),
//! dates by calendar, timestamps by instant, strings by UTF-8 byte order.

mod parse;
use parse::*;

use std::cmp::Ordering;
use std::fmt;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use chrono::{DateTime, NaiveDate};

use crate::error::{Error, Result};
use crate::log::actions::PartitionValues;
use crate::partition::values::partition_array;
use crate::schema::{ColumnMappingMode, DataType, PrimitiveType, StructType};

/// Deepest nesting of parentheses and `NOT`s accepted, so that hostile input cannot overflow
/// the stack.
const MAX_DEPTH: usize = 64;
/// Keywords that must be quoted to be used as column names. `DATE` and `TIMESTAMP` are
/// keywords only before a quoted string, but are quoted in the canonical form all the same.
const KEYWORDS: [&str; 11] = [
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "BETWEEN",
    "TRUE",
    "FALSE",
    "DATE",
    "TIMESTAMP",
];
const RESERVED: &[&str] = KEYWORDS.split_at(9).0;
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A boolean predicate over the partition columns of a table, e.g.
/// `region = 'EU' AND day >= '2024-01-01'`.
///
/// ```
/// use tidemark_core::log::actions::PartitionValues;
/// use tidemark_core::testing::PartitionPredicate;
/// use tidemark_core::schema::{ColumnMappingMode, PrimitiveType, StructField, StructType};
///
/// let schema = StructType::new(vec![
///     StructField::new("region", PrimitiveType::String, true),
///     StructField::new("day", PrimitiveType::Date, true),
///     StructField::new("v", PrimitiveType::Long, true),
/// ]);
/// let partitions = vec!["region".to_string(), "day".to_string()];
/// let p = PartitionPredicate::parse(
///     "region = 'EU' and DAY >= '2024-01-01'",
///     &schema,
///     &partitions,
///     ColumnMappingMode::None,
/// )
/// .unwrap();
/// assert_eq!(p.to_string(), "region = 'EU' AND day >= DATE '2024-01-01'");
/// assert_eq!(p.columns(), vec!["region", "day"]);
///
/// let values = PartitionValues::from_iter([
///     ("region".to_string(), Some("EU".to_string())),
///     ("day".to_string(), Some("2024-01-31".to_string())),
/// ]);
/// assert!(p.matches(&values).unwrap());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionPredicate {
    expr: Expr,
    /// The columns used, in order of first use; `Expr` refers to them by index.
    columns: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq)]
struct Column {
    logical: String,
    physical: String,
    data_type: PrimitiveType,
}

/// A typed value; `None` where one is held stands for SQL NULL.
#[derive(Debug, Clone)]
enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Unscaled value and scale.
    Decimal(i128, u32),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since the epoch.
    Timestamp(i64),
    String(String),
    Binary(Vec<u8>),
}

/// Structural equality (floats by bits, so that a parsed `'NaN'` equals itself).
impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Int(a), Self::Int(b)) => a == b,
            (Self::Float(a), Self::Float(b)) => a.to_bits() == b.to_bits(),
            (Self::Decimal(a, sa), Self::Decimal(b, sb)) => (a, sa) == (b, sb),
            (Self::Date(a), Self::Date(b)) => a == b,
            (Self::Timestamp(a), Self::Timestamp(b)) => a == b,
            (Self::String(a), Self::String(b)) => a == b,
            (Self::Binary(a), Self::Binary(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Const(bool),
    Compare(usize, CmpOp, Option<Scalar>),
    In(usize, Vec<Option<Scalar>>, bool),
    IsNull(usize, bool),
    Between(usize, Option<Scalar>, Option<Scalar>, bool),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl PartitionPredicate {
    /// Parses `text`. Column names refer to the table's logical names (case-insensitive match to
    /// the schema; backquoted `` `my col` `` and double-quoted `"my col"` identifiers allowed);
    /// every column must be a partition column (else an error naming the column and listing the
    /// partition columns). Literals are checked against the column's type (e.g. `id = 'abc'` on
    /// an integer column is an error); a quoted string compared with a number, date, timestamp
    /// or boolean column is converted to the column's type.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a syntax error (with its byte offset), an unknown or
    /// non-partition column, or a literal that does not fit its column's type.
    pub fn parse(
        text: &str,
        schema: &StructType,
        partition_columns: &[String],
        mode: ColumnMappingMode,
    ) -> Result<Self> {
        let tokens = lex(text)?;
        let mut parser = Parser {
            text,
            tokens,
            pos: 0,
            depth: 0,
            schema,
            partition_columns,
            mode,
            columns: Vec::new(),
        };
        let expr = parser.or()?;
        if parser.peek().kind != Tok::Eof {
            return Err(parser.error("AND, OR or the end of the predicate"));
        }
        Ok(Self {
            expr,
            columns: parser.columns,
        })
    }

    /// Whether a file with these partition values (keyed by physical name) satisfies the
    /// predicate under SQL semantics: a comparison with NULL is unknown, and unknown counts as
    /// not matching at the top level (NOT of unknown is unknown; AND/OR use three-valued logic).
    /// An empty value is NULL, as the protocol says; so is a missing one (as when scanning, a
    /// value keyed by the logical name is used when the physical name is absent).
    ///
    /// # Errors
    ///
    /// [`Error::PartitionValue`] when a value does not parse as its column's type.
    pub fn matches(&self, partition_values: &PartitionValues) -> Result<bool> {
        let values = self
            .columns
            .iter()
            .map(|c| {
                let value = partition_values
                    .get(&c.physical)
                    .or_else(|| partition_values.get(&c.logical))
                    .and_then(Option::as_deref);
                column_value(c, value)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(eval(&self.expr, &values) == Some(true))
    }

    /// The logical names of the columns the predicate uses, in order of first use.
    #[cfg(any(test, feature = "test-support"))]
    pub fn columns(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.logical.clone()).collect()
    }
}

// ----- evaluation -----

/// Parses a serialized partition value as the column's type (reusing the reader's parser).
fn column_value(column: &Column, value: Option<&str>) -> Result<Option<Scalar>> {
    let arrow_type = column.data_type.to_arrow()?;
    let array = partition_array(&column.physical, value, &arrow_type, 1)?;
    if array.is_null(0) {
        return Ok(None);
    }
    let a = array.as_ref();
    let scalar = match column.data_type {
        PrimitiveType::String => a
            .as_string_opt::<i32>()
            .map(|a| Scalar::String(a.value(0).into())),
        PrimitiveType::Binary => a
            .as_binary_opt::<i32>()
            .map(|a| Scalar::Binary(a.value(0).into())),
        PrimitiveType::Boolean => a.as_boolean_opt().map(|a| Scalar::Bool(a.value(0))),
        PrimitiveType::Long => a
            .as_primitive_opt::<Int64Type>()
            .map(|a| Scalar::Int(a.value(0))),
        PrimitiveType::Integer => a
            .as_primitive_opt::<Int32Type>()
            .map(|a| Scalar::Int(a.value(0).into())),
        PrimitiveType::Short => a
            .as_primitive_opt::<Int16Type>()
            .map(|a| Scalar::Int(a.value(0).into())),
        PrimitiveType::Byte => a
            .as_primitive_opt::<Int8Type>()
            .map(|a| Scalar::Int(a.value(0).into())),
        PrimitiveType::Float => a
            .as_primitive_opt::<Float32Type>()
            .map(|a| Scalar::Float(a.value(0).into())),
        PrimitiveType::Double => a
            .as_primitive_opt::<Float64Type>()
            .map(|a| Scalar::Float(a.value(0))),
        PrimitiveType::Date => a
            .as_primitive_opt::<Date32Type>()
            .map(|a| Scalar::Date(a.value(0))),
        PrimitiveType::Timestamp | PrimitiveType::TimestampNtz => a
            .as_primitive_opt::<TimestampMicrosecondType>()
            .map(|a| Scalar::Timestamp(a.value(0))),
        PrimitiveType::Decimal(_, scale) => a
            .as_primitive_opt::<Decimal128Type>()
            .map(|a| Scalar::Decimal(a.value(0), scale.into())),
        PrimitiveType::Variant => None,
    };
    scalar.map(Some).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "partition column '{}' has type {}, which a partition predicate cannot evaluate",
            column.logical, column.data_type
        ))
    })
}

/// Three-valued evaluation: `None` is unknown.
fn eval(expr: &Expr, values: &[Option<Scalar>]) -> Option<bool> {
    let value = |c: &usize| values.get(*c).and_then(Option::as_ref);
    match expr {
        Expr::Const(b) => Some(*b),
        Expr::Compare(c, op, lit) => compare(value(c)?, lit.as_ref()?).map(|o| op.holds(o)),
        Expr::In(c, list, negated) => {
            let v = value(c)?;
            let mut result = Some(false);
            for item in list {
                match item.as_ref().and_then(|lit| compare(v, lit)) {
                    Some(Ordering::Equal) => {
                        result = Some(true);
                        break;
                    }
                    Some(_) => {}
                    None => result = None,
                }
            }
            result.map(|r| r != *negated)
        }
        Expr::IsNull(c, negated) => Some(value(c).is_none() != *negated),
        Expr::Between(c, low, high, negated) => {
            let v = value(c);
            let ge = v
                .zip(low.as_ref())
                .and_then(|(v, l)| compare(v, l))
                .map(|o| o.is_ge());
            let le = v
                .zip(high.as_ref())
                .and_then(|(v, h)| compare(v, h))
                .map(|o| o.is_le());
            and3([ge, le]).map(|r| r != *negated)
        }
        Expr::Not(inner) => eval(inner, values).map(|b| !b),
        Expr::And(items) => and3(items.iter().map(|e| eval(e, values))),
        Expr::Or(items) => and3(items.iter().map(|e| eval(e, values).map(|b| !b))).map(|b| !b),
    }
}

/// SQL AND: false if any is false, else unknown if any is unknown, else true.
fn and3(items: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let mut result = Some(true);
    for item in items {
        match item {
            Some(false) => return Some(false),
            None => result = None,
            Some(true) => {}
        }
    }
    result
}

/// Compares two values of one type (`None` for values of different kinds, which parsing rules out).
fn compare(a: &Scalar, b: &Scalar) -> Option<Ordering> {
    Some(match (a, b) {
        (Scalar::Bool(a), Scalar::Bool(b)) => a.cmp(b),
        (Scalar::Int(a), Scalar::Int(b)) => a.cmp(b),
        // NaN equals NaN and sorts above every other value, as in Spark.
        (Scalar::Float(a), Scalar::Float(b)) => match (a.is_nan(), b.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => a.partial_cmp(b)?,
        },
        (Scalar::Decimal(a, sa), Scalar::Decimal(b, sb)) => compare_decimals(*a, *sa, *b, *sb)?,
        (Scalar::Date(a), Scalar::Date(b)) => a.cmp(b),
        (Scalar::Timestamp(a), Scalar::Timestamp(b)) => a.cmp(b),
        (Scalar::String(a), Scalar::String(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Scalar::Binary(a), Scalar::Binary(b)) => a.cmp(b),
        _ => return None,
    })
}

/// Compares `a / 10^sa` with `b / 10^sb` exactly (scales at most 38): integer parts first, then
/// the fractions aligned to the larger scale, which cannot overflow.
fn compare_decimals(a: i128, sa: u32, b: i128, sb: u32) -> Option<Ordering> {
    let (pa, pb) = (10i128.checked_pow(sa)?, 10i128.checked_pow(sb)?);
    let (ia, fa) = (a.div_euclid(pa), a.rem_euclid(pa));
    let (ib, fb) = (b.div_euclid(pb), b.rem_euclid(pb));
    let scale = sa.max(sb);
    let fa = fa.checked_mul(10i128.checked_pow(scale - sa)?)?;
    let fb = fb.checked_mul(10i128.checked_pow(scale - sb)?)?;
    Some(ia.cmp(&ib).then(fa.cmp(&fb)))
}

impl CmpOp {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering.is_eq(),
            Self::Ne => ordering.is_ne(),
            Self::Lt => ordering.is_lt(),
            Self::Le => ordering.is_le(),
            Self::Gt => ordering.is_gt(),
            Self::Ge => ordering.is_ge(),
        }
    }

    /// The operator with its operands swapped: `5 < x` is `x > 5`.
    fn flipped(self) -> Self {
        match self {
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            other => other,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

// ----- display -----

impl fmt::Display for PartitionPredicate {
    /// The canonical text form, which [`PartitionPredicate::parse`] reads back to an equal
    /// predicate: keywords in upper case, typed literals (`DATE '…'`, `TIMESTAMP '…'`), `<>` for
    /// inequality, and parentheses only where needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_expr(f, &self.expr)
    }
}

impl PartitionPredicate {
    fn write_expr(&self, f: &mut fmt::Formatter<'_>, expr: &Expr) -> fmt::Result {
        let column = |c: &usize| ColumnName(self.columns.get(*c).map_or("?", |c| &c.logical));
        let not = |negated: &bool| if *negated { "NOT " } else { "" };
        match expr {
            Expr::Const(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Expr::Compare(c, op, v) => write!(f, "{} {} {}", column(c), op.as_str(), Lit2(v)),
            Expr::IsNull(c, negated) => write!(f, "{} IS {}NULL", column(c), not(negated)),
            Expr::In(c, list, negated) => {
                write!(f, "{} {}IN (", column(c), not(negated))?;
                for (i, v) in list.iter().enumerate() {
                    write!(f, "{}{}", if i > 0 { ", " } else { "" }, Lit2(v))?;
                }
                f.write_str(")")
            }
            Expr::Between(c, low, high, negated) => {
                write!(
                    f,
                    "{} {}BETWEEN {} AND {}",
                    column(c),
                    not(negated),
                    Lit2(low),
                    Lit2(high)
                )
            }
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                self.write_child(f, inner, matches!(**inner, Expr::And(_) | Expr::Or(_)))
            }
            Expr::And(items) | Expr::Or(items) => {
                let is_and = matches!(expr, Expr::And(_));
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(if is_and { " AND " } else { " OR " })?;
                    }
                    let wrap =
                        matches!(item, Expr::Or(_)) || (is_and && matches!(item, Expr::And(_)));
                    self.write_child(f, item, wrap)?;
                }
                Ok(())
            }
        }
    }

    fn write_child(&self, f: &mut fmt::Formatter<'_>, expr: &Expr, parens: bool) -> fmt::Result {
        if parens {
            f.write_str("(")?;
            self.write_expr(f, expr)?;
            f.write_str(")")
        } else {
            self.write_expr(f, expr)
        }
    }
}

/// A column name, backquoted unless it is a plain identifier that is not a keyword.
struct ColumnName<'a>(&'a str);

impl fmt::Display for ColumnName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0;
        let plain = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !KEYWORDS.iter().any(|k| name.eq_ignore_ascii_case(k));
        if plain {
            f.write_str(name)
        } else {
            write!(f, "`{}`", name.replace('`', "``"))
        }
    }
}

/// A typed literal (or NULL) in canonical form.
struct Lit2<'a>(&'a Option<Scalar>);

fn quote(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    write!(f, "'{}'", text.replace('\'', "''"))
}

impl fmt::Display for Lit2<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(scalar) = self.0 else {
            return f.write_str("NULL");
        };
        match scalar {
            Scalar::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) if x.is_finite() => write!(f, "{x:?}"),
            Scalar::Float(x) if x.is_nan() => f.write_str("'NaN'"),
            Scalar::Float(x) => f.write_str(if *x > 0.0 {
                "'Infinity'"
            } else {
                "'-Infinity'"
            }),
            Scalar::Decimal(v, scale) => {
                let digits = format!("{:0>width$}", v.unsigned_abs(), width = *scale as usize + 1);
                let (int, frac) = digits.split_at(digits.len() - *scale as usize);
                let sign = if *v < 0 { "-" } else { "" };
                if frac.is_empty() {
                    write!(f, "{sign}{int}")
                } else {
                    write!(f, "{sign}{int}.{frac}")
                }
            }
            Scalar::Date(days) => {
                match days
                    .checked_add(EPOCH_DAYS_FROM_CE)
                    .and_then(NaiveDate::from_num_days_from_ce_opt)
                {
                    Some(date) => write!(f, "DATE '{}'", date.format("%Y-%m-%d")),
                    None => write!(f, "DATE '{days}'"),
                }
            }
            Scalar::Timestamp(us) => match DateTime::from_timestamp_micros(*us) {
                Some(t) => write!(
                    f,
                    "TIMESTAMP '{}'",
                    t.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f")
                ),
                None => write!(f, "TIMESTAMP '{us}'"),
            },
            Scalar::String(s) => quote(f, s),
            Scalar::Binary(b) => quote(f, &String::from_utf8_lossy(b)),
        }
    }
}

#[cfg(test)]
mod tests;
