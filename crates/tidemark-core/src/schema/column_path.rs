//! Column paths: `address.city`, `items.element.price`, backtick-quoted names with dots.

use super::*;

/// Splits a column path such as `address.city` into its field names.
///
/// Dots separate nesting levels. A name containing dots (or backticks, or spaces at its ends)
/// is quoted with backticks, as in Spark SQL: `` `a.b`.c `` is the field `c` of the column
/// `a.b`, and a backtick inside a quoted name is doubled (`` `x``y` `` is the name ``x`y``).
/// The elements of an array and the keys and values of a map are reached through the
/// segments `element`, `key` and `value` (`items.element.price`, `attrs.value.unit`).
///
/// Errors (an empty path or segment, an unclosed backtick, text right after a closing
/// backtick) name the path and show how to quote.
///
/// ```
/// use tidemark_core::schema::parse_column_path;
///
/// assert_eq!(parse_column_path("address.city").unwrap(), ["address", "city"]);
/// assert_eq!(parse_column_path("`a.b`.c").unwrap(), ["a.b", "c"]);
/// assert_eq!(parse_column_path("`x``y`").unwrap(), ["x`y"]);
/// assert!(parse_column_path("a..b").is_err());
/// assert!(parse_column_path("`a.b").is_err());
/// ```
pub fn parse_column_path(path: &str) -> Result<Vec<String>> {
    let invalid = |why: &str| {
        Error::InvalidArgument(format!(
            "invalid column path '{path}': {why}; separate nested fields with dots (address.city), and quote a name holding dots with backticks (`a.b`.c)"
        ))
    };
    let mut segments = Vec::new();
    let mut chars = path.chars().peekable();
    loop {
        let mut segment = String::new();
        if chars.peek() == Some(&'`') {
            chars.next();
            loop {
                match chars.next() {
                    Some('`') if chars.peek() == Some(&'`') => {
                        chars.next();
                        segment.push('`');
                    }
                    Some('`') => break,
                    Some(c) => segment.push(c),
                    None => return Err(invalid("a backtick is not closed")),
                }
            }
            match chars.peek() {
                None | Some('.') => {}
                Some(_) => return Err(invalid("a quoted name must be followed by a dot or end")),
            }
            if segment.is_empty() {
                return Err(invalid("a field name is empty"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                if c == '`' {
                    return Err(invalid("a backtick may only open a quoted name"));
                }
                segment.push(c);
                chars.next();
            }
            if segment.trim().is_empty() {
                return Err(invalid("a field name is empty"));
            }
        }
        segments.push(segment);
        match chars.next() {
            None => return Ok(segments),
            Some(_) => {
                if chars.peek().is_none() {
                    return Err(invalid("the path ends with a dot"));
                }
            }
        }
    }
}

/// Formats field names as a column path, the inverse of [`parse_column_path`]: names holding
/// a dot or a backtick, or empty or with spaces at their ends, are quoted with backticks.
///
/// ```
/// use tidemark_core::schema::format_column_path;
///
/// assert_eq!(format_column_path(&["address", "city"]), "address.city");
/// assert_eq!(format_column_path(&["a.b", "c"]), "`a.b`.c");
/// ```
pub fn format_column_path<S: AsRef<str>>(segments: &[S]) -> String {
    segments
        .iter()
        .map(|s| quote_field_name(s.as_ref()))
        .collect::<Vec<_>>()
        .join(".")
}

/// A field name as written in a column path: quoted with backticks when needed.
pub fn quote_field_name(name: &str) -> String {
    if name.contains(['.', '`']) || name.is_empty() || name.trim() != name {
        format!("`{}`", name.replace('`', "``"))
    } else {
        name.to_string()
    }
}
