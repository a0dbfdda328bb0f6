//! Lexing and parsing of partition predicates: the text of a replace-where condition into an
//! expression over typed partition columns, with errors that point at the offending place.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// An unquoted identifier or keyword.
    Word(String),
    /// A backquoted or double-quoted identifier.
    Quoted(String),
    Str(String),
    Number(String),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: Tok,
    /// Byte offset in the text.
    pub(super) start: usize,
}

pub(super) fn syntax_error(text: &str, at: usize, message: &str) -> Error {
    Error::InvalidArgument(format!(
        "invalid partition predicate {text:?}: syntax error at byte {at}: {message}"
    ))
}

pub(super) fn lex(text: &str) -> Result<Vec<Token>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' | b')' | b',' => {
                i += 1;
                match c {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    _ => Tok::Comma,
                }
            }
            b'=' | b'!' | b'<' | b'>' => {
                let (op, len) = match (c, next) {
                    (b'=', Some(b'=')) => (CmpOp::Eq, 2),
                    (b'=', _) => (CmpOp::Eq, 1),
                    (b'!', Some(b'=')) | (b'<', Some(b'>')) => (CmpOp::Ne, 2),
                    (b'<', Some(b'=')) => (CmpOp::Le, 2),
                    (b'<', _) => (CmpOp::Lt, 1),
                    (b'>', Some(b'=')) => (CmpOp::Ge, 2),
                    (b'>', _) => (CmpOp::Gt, 1),
                    _ => return Err(syntax_error(text, i, "expected '!=' after '!'")),
                };
                i += len;
                Tok::Op(op)
            }
            b'\'' | b'`' | b'"' => {
                let (content, end) = quoted(text, i)?;
                i = end;
                if c == b'\'' {
                    Tok::Str(content)
                } else {
                    Tok::Quoted(content)
                }
            }
            b'0'..=b'9' | b'.' | b'-' | b'+' => {
                i = number_end(bytes, i);
                if i == start || !text[start..i].bytes().any(|b| b.is_ascii_digit()) {
                    return Err(syntax_error(text, start, "expected a number"));
                }
                Tok::Number(text[start..i].to_string())
            }
            _ => {
                let word_len: usize = text[i..]
                    .chars()
                    .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
                    .map(char::len_utf8)
                    .sum();
                if word_len == 0 {
                    let ch = text[i..].chars().next().unwrap_or('?');
                    return Err(syntax_error(
                        text,
                        i,
                        &format!("unexpected character {ch:?}"),
                    ));
                }
                i += word_len;
                Tok::Word(text[start..i].to_string())
            }
        };
        tokens.push(Token { kind, start });
    }
    tokens.push(Token {
        kind: Tok::Eof,
        start: text.len(),
    });
    Ok(tokens)
}

/// The content of the quoted token opening at `start` (the quote doubled inside escapes it), and
/// the offset after it.
pub(super) fn quoted(text: &str, start: usize) -> Result<(String, usize)> {
    let quote = text.as_bytes()[start] as char;
    let mut content = String::new();
    let mut chars = text[start + 1..].char_indices().peekable();
    while let Some((offset, ch)) = chars.next() {
        if ch == quote {
            if chars.peek().map(|(_, c)| *c) == Some(quote) {
                chars.next();
            } else {
                return Ok((content, start + 1 + offset + 1));
            }
        }
        content.push(ch);
    }
    Err(syntax_error(
        text,
        start,
        &format!("unterminated {quote}...{quote}: add the closing {quote}"),
    ))
}

/// The end of the number starting at `i`: `[+-]digits[.digits][e[+-]digits]`.
pub(super) fn number_end(bytes: &[u8], mut i: usize) -> usize {
    let digits = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    if matches!(bytes.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    i = digits(i);
    if bytes.get(i) == Some(&b'.') {
        i = digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'-' | b'+')));
        if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits(i + 1 + sign);
        }
    }
    i
}

// ----- parsing -----

/// A literal as written, before it is typed by its column.
#[derive(Debug)]
pub(super) enum Lit {
    Null,
    Bool(bool),
    Str(String),
    Number(String),
    Date(String),
    Timestamp(String),
}

pub(super) struct Parser<'a> {
    pub(super) text: &'a str,
    pub(super) tokens: Vec<Token>,
    pub(super) pos: usize,
    pub(super) depth: usize,
    pub(super) schema: &'a StructType,
    pub(super) partition_columns: &'a [String],
    pub(super) mode: ColumnMappingMode,
    pub(super) columns: Vec<Column>,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    pub(super) fn peek_at(&self, ahead: usize) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + ahead).min(last)]
    }

    pub(super) fn advance(&mut self) -> Tok {
        let kind = self.peek().kind.clone();
        self.pos = (self.pos + 1).min(self.tokens.len().saturating_sub(1));
        kind
    }

    pub(super) fn is_keyword(&self, ahead: usize, keyword: &str) -> bool {
        matches!(&self.peek_at(ahead).kind, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    pub(super) fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(0, keyword);
        if found {
            self.advance();
        }
        found
    }

    pub(super) fn expect_keyword(&mut self, keyword: &str) -> Result<()> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.error(keyword))
        }
    }

    pub(super) fn expect(&mut self, kind: Tok, what: &str) -> Result<()> {
        if self.peek().kind == kind {
            self.advance();
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// A syntax error at the current token: what was expected and what was found.
    pub(super) fn error(&self, expected: &str) -> Error {
        let token = self.peek();
        let found = match &token.kind {
            Tok::Eof => "the end of the predicate".to_string(),
            _ => {
                let end = self
                    .tokens
                    .get(self.pos + 1)
                    .map_or(self.text.len(), |t| t.start);
                format!("'{}'", self.text[token.start..end].trim_end())
            }
        };
        syntax_error(
            self.text,
            token.start,
            &format!("expected {expected}, found {found}"),
        )
    }

    pub(super) fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("at most {MAX_DEPTH} levels of nesting")));
        }
        let result = parse(self);
        self.depth -= 1;
        result
    }

    pub(super) fn or(&mut self) -> Result<Expr> {
        let mut items = vec![self.and()?];
        while self.eat_keyword("OR") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    pub(super) fn and(&mut self) -> Result<Expr> {
        let mut items = vec![self.not()?];
        while self.eat_keyword("AND") {
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    pub(super) fn not(&mut self) -> Result<Expr> {
        if self.eat_keyword("NOT") {
            return self.nested(|p| Ok(Expr::Not(Box::new(p.not()?))));
        }
        self.primary()
    }

    pub(super) fn primary(&mut self) -> Result<Expr> {
        if self.peek().kind == Tok::LParen {
            self.advance();
            let expr = self.nested(Self::or)?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(expr);
        }
        let followed_by_op = matches!(self.peek_at(1).kind, Tok::Op(_));
        for (keyword, value) in [("TRUE", true), ("FALSE", false)] {
            if !followed_by_op && self.eat_keyword(keyword) {
                return Ok(Expr::Const(value));
            }
        }
        if let Some(lit) = self.literal_opt()? {
            // `literal cmp column`
            let Tok::Op(op) = self.peek().kind else {
                return Err(self.error("a comparison operator (=, <>, <, <=, >, >=)"));
            };
            self.advance();
            let column = self.column()?;
            let value = self.typed(column, lit)?;
            return Ok(Expr::Compare(column, op.flipped(), value));
        }
        let column = self.column()?;
        if let Tok::Op(op) = self.peek().kind {
            self.advance();
            let value = self.literal_for(column)?;
            return Ok(Expr::Compare(column, op, value));
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            self.expect_keyword("NULL")?;
            return Ok(Expr::IsNull(column, negated));
        }
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            self.expect(Tok::LParen, "'(' after IN")?;
            let mut list = vec![self.literal_for(column)?];
            while self.peek().kind == Tok::Comma {
                self.advance();
                list.push(self.literal_for(column)?);
            }
            self.expect(Tok::RParen, "',' or ')' in the IN list")?;
            return Ok(Expr::In(column, list, negated));
        }
        if self.eat_keyword("BETWEEN") {
            let low = self.literal_for(column)?;
            self.expect_keyword("AND")?;
            let high = self.literal_for(column)?;
            return Ok(Expr::Between(column, low, high, negated));
        }
        Err(self.error(if negated {
            "IN or BETWEEN after NOT"
        } else {
            "a comparison operator, IS [NOT] NULL, [NOT] IN or [NOT] BETWEEN after the column"
        }))
    }

    /// A literal if one starts here (`DATE` and `TIMESTAMP` only when a string follows, so
    /// that columns with those names need no quotes).
    pub(super) fn literal_opt(&mut self) -> Result<Option<Lit>> {
        let lit = match self.peek().kind.clone() {
            Tok::Str(s) => Lit::Str(s),
            Tok::Number(n) => Lit::Number(n),
            Tok::Word(w) => {
                let upper = w.to_ascii_uppercase();
                let next_is_str = matches!(self.peek_at(1).kind, Tok::Str(_));
                match upper.as_str() {
                    "NULL" => Lit::Null,
                    "TRUE" => Lit::Bool(true),
                    "FALSE" => Lit::Bool(false),
                    "DATE" | "TIMESTAMP" if next_is_str => {
                        self.advance();
                        let Tok::Str(s) = self.peek().kind.clone() else {
                            return Err(self.error("a quoted string"));
                        };
                        if upper == "DATE" {
                            Lit::Date(s)
                        } else {
                            Lit::Timestamp(s)
                        }
                    }
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        self.advance();
        Ok(Some(lit))
    }

    pub(super) fn literal_for(&mut self, column: usize) -> Result<Option<Scalar>> {
        match self.literal_opt()? {
            Some(lit) => self.typed(column, lit),
            None => {
                Err(self
                    .error("a literal (such as 'text', 42, 1.5, TRUE, NULL or DATE '2024-01-31')"))
            }
        }
    }

    /// Resolves the column named here; returns its index in `self.columns`.
    pub(super) fn column(&mut self) -> Result<usize> {
        let name = match self.peek().kind.clone() {
            Tok::Quoted(name) => name,
            Tok::Word(w) if !RESERVED.iter().any(|k| w.eq_ignore_ascii_case(k)) => w,
            _ => return Err(self.error("a column name, a literal, NOT or '('")),
        };
        self.advance();
        let fields = &self.schema.fields;
        let field = fields.iter().find(|f| f.name == name).or_else(|| {
            let lower = name.to_lowercase();
            let mut candidates = fields.iter().filter(|f| f.name.to_lowercase() == lower);
            candidates.next().filter(|_| candidates.next().is_none())
        });
        let is_partition = |n: &str| self.partition_columns.iter().any(|p| p == n);
        let listed = || match self.partition_columns.join(", ") {
            list if list.is_empty() => "the table has no partition columns".to_string(),
            list => format!("the partition columns are: {list}"),
        };
        let Some(field) = field else {
            return Err(Error::InvalidArgument(format!(
                "unknown column '{name}' in partition predicate {:?} (column names match case-insensitively; quote names with spaces as `my col`); {}",
                self.text,
                listed()
            )));
        };
        if !is_partition(&field.name) {
            return Err(Error::InvalidArgument(format!(
                "column '{}' is not a partition column, and a partition predicate can only use partition columns; {}",
                field.name,
                listed()
            )));
        }
        if let Some(index) = self.columns.iter().position(|c| c.logical == field.name) {
            return Ok(index);
        }
        let data_type = match &field.data_type {
            DataType::Primitive(p) if *p != PrimitiveType::Variant => *p,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "partition column '{}' has type {other}, which a partition predicate cannot compare",
                    field.name
                )));
            }
        };
        self.columns.push(Column {
            logical: field.name.clone(),
            physical: field.physical_name(self.mode)?.to_string(),
            data_type,
        });
        Ok(self.columns.len() - 1)
    }

    /// Converts a literal to the type of column `index` (`None` for NULL).
    pub(super) fn typed(&self, index: usize, lit: Lit) -> Result<Option<Scalar>> {
        let Some(column) = self.columns.get(index) else {
            return Err(Error::InvalidArgument(format!(
                "no column {index} in the predicate"
            )));
        };
        let ty = column.data_type;
        // A literal as text is parsed like a serialized partition value of type `as_type`.
        let parse = |text: &str, as_type: PrimitiveType| -> Result<Option<Scalar>> {
            if text.trim().is_empty() {
                return Err(literal_error(column, &format!("'{text}'"), "it is empty"));
            }
            let probe = Column {
                data_type: as_type,
                ..column.clone()
            };
            column_value(&probe, Some(text)).map_err(|e| match e {
                Error::PartitionValue { reason, .. } => {
                    literal_error(column, &format!("'{text}'"), &reason)
                }
                other => other,
            })
        };
        match (lit, ty) {
            (Lit::Null, _) => Ok(None),
            (Lit::Bool(b), PrimitiveType::Boolean) => Ok(Some(Scalar::Bool(b))),
            (Lit::Str(s), PrimitiveType::String) => Ok(Some(Scalar::String(s))),
            (Lit::Str(s), PrimitiveType::Binary) => Ok(Some(Scalar::Binary(s.into_bytes()))),
            (Lit::Str(s) | Lit::Number(s), PrimitiveType::Decimal(_, scale)) => {
                decimal_literal(s.trim(), scale.into())
                    .map(|(v, s)| Some(Scalar::Decimal(v, s)))
                    .ok_or_else(|| {
                        literal_error(column, &s, "not a decimal number (expected e.g. 12.34)")
                    })
            }
            (
                Lit::Str(s) | Lit::Number(s),
                PrimitiveType::Long
                | PrimitiveType::Integer
                | PrimitiveType::Short
                | PrimitiveType::Byte
                | PrimitiveType::Float
                | PrimitiveType::Double,
            )
            | (Lit::Str(s), PrimitiveType::Boolean)
            | (Lit::Str(s) | Lit::Date(s), PrimitiveType::Date)
            | (
                Lit::Str(s) | Lit::Timestamp(s),
                PrimitiveType::Timestamp | PrimitiveType::TimestampNtz,
            ) => parse(&s, ty),
            (Lit::Date(s), PrimitiveType::Timestamp | PrimitiveType::TimestampNtz) => {
                match parse(&s, PrimitiveType::Date)? {
                    Some(Scalar::Date(days)) => {
                        Ok(Some(Scalar::Timestamp(i64::from(days) * MICROS_PER_DAY)))
                    }
                    other => Ok(other),
                }
            }
            (lit, _) => {
                let text = match lit {
                    Lit::Null => "NULL".to_string(),
                    Lit::Bool(b) => if b { "TRUE" } else { "FALSE" }.to_string(),
                    Lit::Str(s) => format!("'{}'", s.replace('\'', "''")),
                    Lit::Number(n) => n,
                    Lit::Date(s) => format!("DATE '{s}'"),
                    Lit::Timestamp(s) => format!("TIMESTAMP '{s}'"),
                };
                Err(literal_error(
                    column,
                    &text,
                    "it is a literal of another type",
                ))
            }
        }
    }
}

pub(super) fn literal_error(column: &Column, literal: &str, reason: &str) -> Error {
    Error::InvalidArgument(format!(
        "the literal {literal} does not fit column '{}' of type {}: {reason}; write {}",
        column.logical,
        column.data_type,
        example(column.data_type)
    ))
}

/// How to write a literal of a type, for error messages.
pub(super) fn example(ty: PrimitiveType) -> &'static str {
    match ty {
        PrimitiveType::String | PrimitiveType::Binary => "a quoted string such as 'text'",
        PrimitiveType::Boolean => "TRUE or FALSE",
        PrimitiveType::Float | PrimitiveType::Double => "a number such as 1.5",
        PrimitiveType::Decimal(..) => "a decimal number such as 12.34",
        PrimitiveType::Date => "a date such as DATE '2024-01-31' or '2024-01-31'",
        PrimitiveType::Timestamp | PrimitiveType::TimestampNtz => {
            "a timestamp such as TIMESTAMP '2024-01-31 10:00:00'"
        }
        PrimitiveType::Variant => "no literal (variant columns cannot be compared)",
        _ => "an integer such as 42",
    }
}

/// Parses `[+-]digits[.digits][e[+-]digits]` exactly as an unscaled value and scale (at most
/// 38), normalized to `column_scale` where that is exact: `1.5` and `'1.50'` both give
/// `(150, 2)` for scale 2.
pub(super) fn decimal_literal(text: &str, column_scale: u32) -> Option<(i128, u32)> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.as_bytes().first()? {
        b'-' => (true, &mantissa[1..]),
        b'+' => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value: i128 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let mut scale = i64::try_from(frac_part.len()).ok()? - i64::from(exponent);
    while scale < 0 {
        value = value.checked_mul(10)?;
        scale += 1;
    }
    let mut scale = u32::try_from(scale).ok()?;
    while scale > column_scale && value % 10 == 0 {
        value /= 10;
        scale -= 1;
    }
    while scale < column_scale {
        match value.checked_mul(10) {
            Some(v) => (value, scale) = (v, scale + 1),
            None => break,
        }
    }
    (scale <= 38).then_some((if negative { -value } else { value }, scale))
}
