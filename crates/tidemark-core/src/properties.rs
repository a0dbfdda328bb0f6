//! Table properties Tidemark interprets: parsing and validating the values of
//! `metaData.configuration`, failing closed.
//!
//! A property that governs what may be deleted (`delta.deletedFileRetentionDuration`, read by
//! vacuum and by the checkpoint writer for tombstones) must never be guessed: an unparseable
//! value is an error naming the property, the value and the accepted syntax, never a silent
//! fallback to the default. Values are refused when a table is created, when a property is set
//! ([`crate::schema::AlterOperation::SetProperty`], SQL `ALTER TABLE … SET TBLPROPERTIES`), and
//! when a table written by someone else holds one and Tidemark needs it (checkpoints, vacuum).
//!
//! ## Durations
//!
//! Duration properties are Spark calendar intervals, parsed as Delta Lake parses them (Spark's
//! `IntervalUtils.stringToInterval`, then Delta's `isValidIntervalConfigValue`):
//!
//! - the value is trimmed and read case-insensitively;
//! - an optional leading word `interval`, followed by whitespace;
//! - one or more `<number> <unit>` pairs separated by whitespace: `interval 30 days 12 hours`;
//! - a number is a whole number with an optional sign (`-12 hours`, `- 12 hours`, `+1 day`);
//!   only seconds may have a fraction, of up to 9 digits (`1.5 seconds`, `.25 second`),
//!   truncated to microseconds;
//! - units, singular or plural: `week`, `day`, `hour`, `minute`, `second`, `millisecond`,
//!   `microsecond`. Abbreviations (`min`, `sec`, `ms`, `us`, `h`…) are refused: Spark does not
//!   accept them, so a table holding one could not be maintained by Spark;
//! - `month` and `year` parse, but a value whose months and years do not add up to zero is
//!   refused, as Delta refuses it: a month has no fixed length (write `365 days` for a year);
//! - the total may not be negative (a single pair may: `1 day -12 hours` is 12 hours);
//! - a number or total that does not fit in 64-bit microseconds (about 292,000 years) is an
//!   error, not a wrap-around.
//!
//! The result is in milliseconds, microseconds truncated (as Delta's `getMilliSeconds` does).
//!
//! ```
//! use std::collections::HashMap;
//! use tidemark_core::properties;
//! let ms = properties::parse_interval_ms("delta.logRetentionDuration", "interval 30 days 12 hours")?;
//! assert_eq!(ms, (30 * 24 + 12) * 3_600_000);
//! let config = HashMap::from([(
//!     "delta.deletedFileRetentionDuration".to_string(),
//!     "interval 1 month".to_string(),
//! )]);
//! let err = properties::deleted_file_retention_ms(&config).unwrap_err();
//! assert!(err.to_string().contains("delta.deletedFileRetentionDuration"));
//! # Ok::<(), tidemark_core::Error>(())
//! ```

use std::collections::HashMap;

use crate::error::{Error, Result};

/// `delta.deletedFileRetentionDuration`: how long removed data files are kept (vacuum) and
/// how long their tombstones stay in checkpoints.
pub const DELETED_FILE_RETENTION_DURATION: &str = "delta.deletedFileRetentionDuration";
/// `delta.logRetentionDuration`: how long commit files are kept by log cleanup.
pub const LOG_RETENTION_DURATION: &str = "delta.logRetentionDuration";
/// `delta.checkpointRetentionDuration`: how long old checkpoints are kept by log cleanup.
pub const CHECKPOINT_RETENTION_DURATION: &str = "delta.checkpointRetentionDuration";
/// `delta.setTransactionRetentionDuration`: how long application transactions (`txn`) are
/// kept; absent means forever.
pub const SET_TRANSACTION_RETENTION_DURATION: &str = "delta.setTransactionRetentionDuration";

const MS_PER_DAY: i64 = 24 * 3_600_000;

/// Default `delta.deletedFileRetentionDuration`: 7 days (`interval 1 week`), in milliseconds.
pub const DEFAULT_DELETED_FILE_RETENTION_MS: i64 = 7 * MS_PER_DAY;
/// Default `delta.logRetentionDuration`: 30 days, in milliseconds.
pub const DEFAULT_LOG_RETENTION_MS: i64 = 30 * MS_PER_DAY;
/// Default `delta.checkpointRetentionDuration`: 2 days, in milliseconds.
pub const DEFAULT_CHECKPOINT_RETENTION_MS: i64 = 2 * MS_PER_DAY;

/// What a duration property accepts, quoted in every error about one.
pub const DURATION_SYNTAX: &str = "a duration is an optional 'interval' followed by one or more '<number> <unit>' pairs, such as 'interval 7 days' or 'interval 30 days 12 hours'; units (singular or plural, any case): week, day, hour, minute, second, millisecond, microsecond; only seconds take a fraction; months and years are not accepted (they have no fixed length: write '365 days' for a year), nor are abbreviations such as 'min' or 'ms', and the total may not be negative";

/// How Tidemark (and Delta) read a property's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyKind {
    /// A calendar interval without months: see the module documentation.
    Duration,
    /// `true` or `false`, any case.
    Boolean,
    /// A whole number above zero (a 32-bit integer, as in Delta).
    PositiveInteger,
    /// A whole number of at least -1 (a 32-bit integer, as in Delta).
    IntegerFromMinusOne,
}

/// The `delta.*` properties whose values Tidemark interprets (or accepts when creating a
/// table), with how their values are read. Other keys are not checked here.
pub const INTERPRETED_PROPERTIES: &[(&str, PropertyKind)] = &[
    (DELETED_FILE_RETENTION_DURATION, PropertyKind::Duration),
    (LOG_RETENTION_DURATION, PropertyKind::Duration),
    (CHECKPOINT_RETENTION_DURATION, PropertyKind::Duration),
    (SET_TRANSACTION_RETENTION_DURATION, PropertyKind::Duration),
    ("delta.appendOnly", PropertyKind::Boolean),
    ("delta.enableInCommitTimestamps", PropertyKind::Boolean),
    ("delta.enableTypeWidening", PropertyKind::Boolean),
    ("delta.checkpoint.writeStatsAsJson", PropertyKind::Boolean),
    ("delta.checkpoint.writeStatsAsStruct", PropertyKind::Boolean),
    ("delta.checkpointInterval", PropertyKind::PositiveInteger),
    (
        "delta.dataSkippingNumIndexedCols",
        PropertyKind::IntegerFromMinusOne,
    ),
];

/// How a property's value is read, for the properties in [`INTERPRETED_PROPERTIES`].
pub fn kind_of(key: &str) -> Option<PropertyKind> {
    INTERPRETED_PROPERTIES
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, kind)| *kind)
}

/// Parses the value of the duration property `property` into milliseconds.
///
/// The error names the property, the value and the accepted syntax ([`DURATION_SYNTAX`]).
///
/// ```
/// use tidemark_core::properties::parse_interval_ms;
/// let key = "delta.deletedFileRetentionDuration";
/// assert_eq!(parse_interval_ms(key, "interval 1 week")?, 7 * 86_400_000);
/// assert_eq!(parse_interval_ms(key, "1 day -12 hours")?, 12 * 3_600_000);
/// assert!(parse_interval_ms(key, "interval 7 dayz").is_err());
/// assert!(parse_interval_ms(key, "interval 1 year").is_err());
/// # Ok::<(), tidemark_core::Error>(())
/// ```
pub fn parse_interval_ms(property: &str, value: &str) -> Result<i64> {
    interval_ms(value).map_err(|reason| Error::InvalidProperty {
        key: property.to_string(),
        value: value.to_string(),
        reason: format!("{reason}; {DURATION_SYNTAX}"),
    })
}

/// The table's `delta.deletedFileRetentionDuration` in milliseconds (7 days when absent).
///
/// An unparseable value is an error: vacuum and the checkpoint writer must not guess how long
/// the table's owner wants removed files kept.
pub fn deleted_file_retention_ms(configuration: &HashMap<String, String>) -> Result<i64> {
    duration_ms(
        configuration,
        DELETED_FILE_RETENTION_DURATION,
        DEFAULT_DELETED_FILE_RETENTION_MS,
    )
}

/// The table's `delta.logRetentionDuration` in milliseconds (30 days when absent).
pub fn log_retention_ms(configuration: &HashMap<String, String>) -> Result<i64> {
    duration_ms(
        configuration,
        LOG_RETENTION_DURATION,
        DEFAULT_LOG_RETENTION_MS,
    )
}

/// The table's `delta.checkpointRetentionDuration` in milliseconds (2 days when absent).
pub fn checkpoint_retention_ms(configuration: &HashMap<String, String>) -> Result<i64> {
    duration_ms(
        configuration,
        CHECKPOINT_RETENTION_DURATION,
        DEFAULT_CHECKPOINT_RETENTION_MS,
    )
}

/// The table's `delta.setTransactionRetentionDuration` in milliseconds; `None` when absent
/// (application transactions are then kept forever).
pub fn set_transaction_retention_ms(
    configuration: &HashMap<String, String>,
) -> Result<Option<i64>> {
    configuration
        .get(SET_TRANSACTION_RETENTION_DURATION)
        .map(|value| parse_interval_ms(SET_TRANSACTION_RETENTION_DURATION, value))
        .transpose()
}

fn duration_ms(configuration: &HashMap<String, String>, key: &str, default: i64) -> Result<i64> {
    match configuration.get(key) {
        Some(value) => parse_interval_ms(key, value),
        None => Ok(default),
    }
}

/// Checks one property's value, if Tidemark interprets the key ([`INTERPRETED_PROPERTIES`]);
/// other keys pass.
///
/// ```
/// use tidemark_core::properties::validate_property;
/// validate_property("delta.appendOnly", "TRUE")?;
/// validate_property("my.own.key", "anything")?;
/// assert!(validate_property("delta.appendOnly", "yes").is_err());
/// assert!(validate_property("delta.checkpointInterval", "0").is_err());
/// # Ok::<(), tidemark_core::Error>(())
/// ```
pub fn validate_property(key: &str, value: &str) -> Result<()> {
    let Some(kind) = kind_of(key) else {
        return Ok(());
    };
    let invalid = |reason: &str| Error::InvalidProperty {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    match kind {
        PropertyKind::Duration => parse_interval_ms(key, value).map(|_| ()),
        PropertyKind::Boolean => {
            if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
                Ok(())
            } else {
                Err(invalid("the value must be 'true' or 'false'"))
            }
        }
        PropertyKind::PositiveInteger => match value.parse::<i32>() {
            Ok(n) if n > 0 => Ok(()),
            _ => Err(invalid(
                "the value must be a whole number above zero (at most 2147483647), such as '100'",
            )),
        },
        PropertyKind::IntegerFromMinusOne => match value.parse::<i32>() {
            Ok(n) if n >= -1 => Ok(()),
            _ => Err(invalid(
                "the value must be a whole number of at least -1 (-1 meaning all columns), such as '32'",
            )),
        },
    }
}

/// Checks every property of a configuration that Tidemark interprets (durations, booleans,
/// numbers: see [`INTERPRETED_PROPERTIES`]); the first invalid one, in key order, is the error.
pub fn validate(configuration: &HashMap<String, String>) -> Result<()> {
    let mut keys: Vec<&String> = configuration.keys().collect();
    keys.sort();
    for key in keys {
        if let Some(value) = configuration.get(key) {
            validate_property(key, value)?;
        }
    }
    Ok(())
}

/// What one of a unit is worth: months (counted apart, as Spark does) or microseconds.
#[derive(Clone, Copy)]
enum Unit {
    Months(i64),
    Micros(i64),
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The units Spark's interval parser knows, each also accepted with a trailing `s`.
const UNITS: &[(&str, Unit)] = &[
    ("year", Unit::Months(12)),
    ("month", Unit::Months(1)),
    ("week", Unit::Micros(7 * MICROS_PER_DAY)),
    ("day", Unit::Micros(MICROS_PER_DAY)),
    ("hour", Unit::Micros(3_600_000_000)),
    ("minute", Unit::Micros(60_000_000)),
    ("second", Unit::Micros(1_000_000)),
    ("millisecond", Unit::Micros(1_000)),
    ("microsecond", Unit::Micros(1)),
];

/// Common abbreviations, refused with the word to write instead (`None`: no such unit).
const ABBREVIATIONS: &[(&[&str], Option<&str>)] = &[
    (&["w", "wk", "wks"], Some("weeks")),
    (&["d"], Some("days")),
    (&["h", "hr", "hrs"], Some("hours")),
    (&["m", "min", "mins"], Some("minutes")),
    (&["s", "sec", "secs"], Some("seconds")),
    (
        &["ms", "msec", "msecs", "milli", "millis"],
        Some("milliseconds"),
    ),
    (
        &["us", "\u{b5}s", "usec", "usecs", "micro", "micros"],
        Some("microseconds"),
    ),
    (&["mon", "mons", "y", "yr", "yrs"], None),
];

/// Whitespace as Java's `Character.isWhitespace` sees it among ASCII characters.
fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r' | '\x1C'..='\x1F'
    )
}

/// Parses a duration into milliseconds; the error says what is wrong (without the syntax).
fn interval_ms(value: &str) -> std::result::Result<i64, String> {
    let text = value
        .trim_matches(|c: char| c == ' ' || c.is_ascii_control())
        .to_ascii_lowercase();
    if text.is_empty() {
        return Err("the value is empty".into());
    }
    let mut rest = text.as_str();
    if let Some(after) = rest.strip_prefix("interval") {
        match after.chars().next() {
            None => return Err("'interval' is not followed by any '<number> <unit>' pair".into()),
            Some(c) if is_space(c) => rest = after,
            Some(_) => {
                let word = text.split(is_space).next().unwrap_or_default();
                return Err(format!("'{word}' is not a number or the word 'interval'"));
            }
        }
    }
    let mut words = rest.split(is_space).filter(|w| !w.is_empty());
    let mut months: i64 = 0;
    let mut micros: i64 = 0;
    let mut pairs = 0usize;
    let too_long = || "the duration is too long: it overflows 64-bit microseconds".to_string();
    while let Some(word) = words.next() {
        let (negative, number) = match word {
            "-" | "+" => {
                let number = words
                    .next()
                    .ok_or_else(|| format!("the sign '{word}' is not followed by a number"))?;
                (word == "-", number)
            }
            _ => match word.strip_prefix('-') {
                Some(number) => (true, number),
                None => (false, word.strip_prefix('+').unwrap_or(word)),
            },
        };
        let (whole, fraction_micros, has_fraction) = parse_number(number)?;
        let unit_word = words
            .next()
            .ok_or_else(|| format!("the number '{number}' has no unit"))?;
        let unit = UNITS
            .iter()
            .find(|(name, _)| unit_word == *name || unit_word.strip_suffix('s') == Some(*name))
            .map(|(_, unit)| *unit)
            .ok_or_else(|| unknown_unit(unit_word))?;
        if has_fraction && !unit_word.starts_with("second") {
            return Err(format!(
                "'{number} {unit_word}' has a fraction, which only seconds may have"
            ));
        }
        let (whole, fraction_micros) = if negative {
            (-whole, -fraction_micros)
        } else {
            (whole, fraction_micros)
        };
        match unit {
            Unit::Months(per) => {
                months = whole
                    .checked_mul(per)
                    .and_then(|m| months.checked_add(m))
                    .ok_or_else(too_long)?;
            }
            Unit::Micros(per) => {
                micros = whole
                    .checked_mul(per)
                    .and_then(|m| m.checked_add(fraction_micros))
                    .and_then(|m| micros.checked_add(m))
                    .ok_or_else(too_long)?;
            }
        }
        pairs += 1;
    }
    if pairs == 0 {
        return Err("the value holds no '<number> <unit>' pair".into());
    }
    if months != 0 {
        return Err(
            "months and years are not accepted: they have no fixed length (write '365 days' for a year, '30 days' for a month)"
                .into(),
        );
    }
    if micros < 0 {
        return Err("the duration is negative".into());
    }
    Ok(micros / 1_000)
}

/// A number of a `<number> <unit>` pair, without its sign: its whole part, its fraction in
/// microseconds (truncated from up to 9 digits), and whether it was written with a point.
fn parse_number(number: &str) -> std::result::Result<(i64, i64, bool), String> {
    let not_a_number = || format!("'{number}' is not a number");
    let (whole_digits, fraction_digits) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole_digits) || !fraction_digits.is_none_or(all_digits) {
        return Err(not_a_number());
    }
    if whole_digits.is_empty() && fraction_digits.is_none_or(str::is_empty) {
        return Err(not_a_number());
    }
    let mut whole: i64 = 0;
    for digit in whole_digits.bytes() {
        whole = whole
            .checked_mul(10)
            .and_then(|w| w.checked_add(i64::from(digit - b'0')))
            .ok_or_else(|| format!("the number '{number}' is too large"))?;
    }
    let fraction_micros = match fraction_digits {
        None => 0,
        Some(digits) if digits.len() > 9 => {
            return Err(format!(
                "the number '{number}' has more than 9 digits after the point"
            ));
        }
        Some(digits) => {
            let mut nanos: i64 = 0;
            for (i, digit) in digits.bytes().enumerate() {
                let scale = 10i64.pow(8 - i as u32);
                nanos += i64::from(digit - b'0') * scale;
            }
            nanos / 1_000
        }
    };
    Ok((whole, fraction_micros, fraction_digits.is_some()))
}

fn unknown_unit(word: &str) -> String {
    let hint = match ABBREVIATIONS
        .iter()
        .find(|(short, _)| short.contains(&word))
    {
        Some((_, Some(full))) => {
            format!(" (write '{full}': Spark and other Delta engines do not read abbreviations)")
        }
        Some((_, None)) => " (months and years are not accepted: write days)".to_string(),
        None => String::new(),
    };
    format!("'{word}' is not a unit{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_signs() {
        let ms = |s: &str| interval_ms(s).unwrap();
        assert_eq!(ms("interval 1 week"), 7 * MS_PER_DAY);
        assert_eq!(ms("2 WEEKS 1 Day"), 15 * MS_PER_DAY);
        assert_eq!(ms("interval - 1 hour 2 hours"), 3_600_000);
        assert_eq!(ms("+1 second"), 1_000);
        assert_eq!(ms("1.5 seconds"), 1_500);
        assert_eq!(ms(".25 second"), 250);
        assert_eq!(ms("1. second"), 1_000);
        assert_eq!(ms("1 year -12 months 1 day"), MS_PER_DAY);
        assert_eq!(ms("1999 microseconds"), 1);
    }

    #[test]
    fn refusals_say_why() {
        let err = |s: &str| interval_ms(s).unwrap_err();
        assert!(err("interval 2 mins").contains("'minutes'"));
        assert!(err("interval 1 month").contains("months"));
        assert!(err("1.5 days").contains("fraction"));
        assert!(err("intervals 1 day").contains("intervals"));
        assert!(err("interval -1 day").contains("negative"));
        assert!(err("interval 1").contains("no unit"));
        assert!(err("1 day -").contains("sign"));
        assert!(err("9223372036854775807 weeks").contains("too long"));
        assert!(err("99999999999999999999 days").contains("too large"));
        assert!(err("1.0000000001 seconds").contains("9 digits"));
        assert!(err(". seconds").contains("not a number"));
    }
}
