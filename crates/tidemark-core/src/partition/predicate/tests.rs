//! Unit tests of the parent module.

use super::*;
use crate::schema::StructField;

fn schema() -> StructType {
    StructType::new(vec![
        StructField::new("region", PrimitiveType::String, true),
        StructField::new("year", PrimitiveType::Integer, true),
        StructField::new("day", PrimitiveType::Date, true),
        StructField::new("ts", PrimitiveType::Timestamp, true),
        StructField::new("amt", PrimitiveType::Decimal(10, 2), true),
        StructField::new("flag", PrimitiveType::Boolean, true),
        StructField::new("my col", PrimitiveType::Double, true),
        StructField::new("v", PrimitiveType::Long, true),
    ])
}

fn partitions() -> Vec<String> {
    ["region", "year", "day", "ts", "amt", "flag", "my col"]
        .map(String::from)
        .to_vec()
}

fn parse(text: &str) -> Result<PartitionPredicate> {
    PartitionPredicate::parse(text, &schema(), &partitions(), ColumnMappingMode::None)
}

fn values(pairs: &[(&str, Option<&str>)]) -> PartitionValues {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(String::from)))
        .collect()
}

fn row() -> PartitionValues {
    values(&[
        ("region", Some("EU")),
        ("year", Some("10")),
        ("day", Some("2024-01-31")),
        ("ts", Some("2024-01-31 10:11:12.123456")),
        ("amt", Some("1.5")),
        ("flag", Some("true")),
        ("my col", Some("2.5")),
    ])
}

/// Parses `text`, checks the result on `vals`, and that Display round-trips.
fn check(text: &str, vals: &PartitionValues, expected: bool) {
    let p = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(p.matches(vals).unwrap(), expected, "{text} (shown as {p})");
    let again = parse(&p.to_string()).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(again, p, "{text} -> {p}");
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn operators_on_each_type() {
    let r = row();
    for (text, expected) in [
        ("region = 'EU'", true),
        ("region == 'EU'", true),
        ("region != 'EU'", false),
        ("region <> 'US'", true),
        ("region < 'F'", true),
        ("region <= 'EU'", true),
        ("region > 'E'", true),
        ("region >= 'EV'", false),
        ("year = 10", true),
        ("year > 9", true),
        ("year < 9", false),
        ("year >= '10'", true),
        ("year <= -3", false),
        ("year <> 10", false),
        ("day = '2024-01-31'", true),
        ("day > DATE '2024-01-30'", true),
        ("day < '2024-2-1'", true),
        ("day >= '2024-02-01'", false),
        ("ts = TIMESTAMP '2024-01-31 10:11:12.123456'", true),
        ("ts > '2024-01-31 10:11:12'", true),
        ("ts < '2024-01-31T10:11:13Z'", true),
        ("ts >= DATE '2024-02-01'", false),
        ("ts > DATE '2024-01-31'", true),
        ("amt = 1.5", true),
        ("amt = '1.50'", true),
        ("amt > 1.499", true),
        ("amt < 1.5001", true),
        ("amt <= 1.49", false),
        ("amt > -2", true),
        ("flag = TRUE", true),
        ("flag <> 'true'", false),
        ("flag > FALSE", true),
        ("`my col` = 2.5", true),
        ("\"MY COL\" > 2.49", true),
        ("'EU' = region", true),
        ("9 < year", true),
        ("11 <= year", false),
        ("TRUE", true),
        ("FALSE", false),
        ("TRUE = flag", true),
    ] {
        check(text, &r, expected);
    }
}

#[test]
fn type_aware_comparison() {
    // As text, "10" < "9" and "1.5" <> "1.50".
    let r = values(&[("year", Some("10")), ("amt", Some("1.5"))]);
    check("year > 9", &r, true);
    check("amt = '1.50'", &r, true);
    check("amt = 1.500", &r, true);
    let r = values(&[("amt", Some("-0.05"))]);
    check("amt < 0", &r, true);
    check("amt > -0.051", &r, true);
    check("amt = -5e-2", &r, true);
    // Timestamps by instant in both serialized forms.
    for ts in ["2024-01-31 10:11:12", "2024-01-31T10:11:12.000000Z"] {
        let r = values(&[("ts", Some(ts))]);
        check("ts = TIMESTAMP '2024-01-31 10:11:12'", &r, true);
        check("ts = '2024-01-31T10:11:12Z'", &r, true);
        check("ts < '2024-01-31 10:11:12.000001'", &r, true);
    }
}

#[test]
fn null_semantics() {
    let null = values(&[("region", None), ("year", Some(""))]);
    check("region = 'x'", &null, false);
    check("region <> 'x'", &null, false);
    check("NOT (region = 'x')", &null, false);
    check("NOT region = 'x'", &null, false);
    check("region IS NULL", &null, true);
    check("region IS NOT NULL", &null, false);
    check("year IS NULL", &null, true);
    check("region = 'x' OR TRUE", &null, true);
    check("region = 'x' AND FALSE", &null, false);
    check("NOT (region = 'x' AND TRUE)", &null, false);
    check("NOT (region = 'x' AND FALSE)", &null, true);
    check("region IN ('x', 'y')", &null, false);
    check("region NOT IN ('x', 'y')", &null, false);
    // A comparison with NULL is unknown, even on a non-null value.
    let r = row();
    check("region = NULL", &r, false);
    check("NOT region = NULL", &r, false);
    check("NULL <> region", &r, false);
    check("region IN ('EU', NULL)", &r, true);
    check("region IN ('US', NULL)", &r, false);
    check("region NOT IN ('US', NULL)", &r, false);
    check("region NOT IN ('US', 'UK')", &r, true);
    // A missing key is NULL too.
    check("region IS NULL", &values(&[]), true);
}

#[test]
fn in_and_between() {
    let r = row();
    check("region IN ('US', 'EU')", &r, true);
    check("region in ('US')", &r, false);
    check("region NOT IN ('US')", &r, true);
    check("year IN (1, 10, '11')", &r, true);
    check("day IN ('2024-01-31')", &r, true);
    check("year BETWEEN 9 AND 10", &r, true);
    check("year between 11 and 20", &r, false);
    check("year NOT BETWEEN 11 AND 20", &r, true);
    check("day BETWEEN '2024-01-01' AND '2024-12-31'", &r, true);
    check("amt BETWEEN 1.5 AND 1.5", &r, true);
    check("year BETWEEN NULL AND 5", &r, false);
    check("year NOT BETWEEN NULL AND 5", &r, true);
    check("year BETWEEN 1 AND 10 AND region = 'EU'", &r, true);
}

#[test]
fn precedence_and_parentheses() {
    let r = row();
    // AND binds tighter than OR.
    check(
        "region = 'US' AND year = 1 OR flag = TRUE",
        &values(&[]),
        false,
    );
    check("region = 'EU' OR year = 1 AND FALSE", &r, true);
    check("(region = 'EU' OR year = 1) AND FALSE", &r, false);
    check("NOT region = 'US' AND year = 10", &r, true);
    check(
        "NOT (region = 'EU' AND year = 10) OR flag = FALSE",
        &r,
        false,
    );
    check(
        "((region = 'EU')) and ((year = 10 or (flag = false)))",
        &r,
        true,
    );
    check("NOT NOT region = 'EU'", &r, true);
    check("(TRUE OR FALSE) OR FALSE", &r, true);
    check("TRUE AND (FALSE AND TRUE)", &r, false);
}

#[test]
fn strings_and_identifiers() {
    let r = values(&[("region", Some("it's"))]);
    check("region = 'it''s'", &r, true);
    check("region = 'it s'", &r, false);
    check("REGION = 'it''s'", &r, true);
    check("`Region` = 'it''s'", &r, true);
    let p = parse("region = 'it''s' AND `my col` > 1 AND \"year\" = 2").unwrap();
    assert_eq!(
        p.to_string(),
        "region = 'it''s' AND `my col` > 1.0 AND year = 2"
    );
    assert_eq!(p.columns(), vec!["region", "my col", "year"]);
    let p = parse("year = 1 OR year = 2 OR region IS NULL").unwrap();
    assert_eq!(p.columns(), vec!["year", "region"]);
    // Byte order: 'é' sorts after 'z'.
    check("region < 'é'", &values(&[("region", Some("z"))]), true);
}

#[test]
fn display_round_trips() {
    for (text, shown) in [
        (
            "region='EU' and (year=1 or year==2)",
            "region = 'EU' AND (year = 1 OR year = 2)",
        ),
        ("NOT (a_b)", ""),
        ("10 > year", "year < 10"),
        ("day != '2024-1-2'", "day <> DATE '2024-01-02'"),
        (
            "ts >= '2024-01-31T10:11:12Z'",
            "ts >= TIMESTAMP '2024-01-31 10:11:12.000000'",
        ),
        (
            "amt IN (1.5, '2', -0.5, NULL)",
            "amt IN (1.50, 2.00, -0.50, NULL)",
        ),
        (
            "amt not between 1.005 and 2",
            "amt NOT BETWEEN 1.005 AND 2.00",
        ),
        ("flag is not null or not (region = 'x' and flag)", ""),
        ("NOT (year = 1 OR year = 2)", "NOT (year = 1 OR year = 2)"),
        (
            "`my col` = 'NaN' OR `my col` < '-Infinity'",
            "`my col` = 'NaN' OR `my col` < '-Infinity'",
        ),
    ] {
        match parse(text) {
            Ok(p) => {
                assert_eq!(p.to_string(), shown, "{text}");
                assert_eq!(parse(&p.to_string()).unwrap(), p, "{text}");
            }
            Err(e) => assert!(shown.is_empty(), "{text}: {e}"),
        }
    }
}

#[test]
fn errors() {
    let e = err("v = 1");
    assert!(e.contains("'v' is not a partition column"), "{e}");
    assert!(e.contains("region, year, day"), "{e}");
    let e = err("nope = 1");
    assert!(e.contains("unknown column 'nope'"), "{e}");
    assert!(e.contains("partition columns are"), "{e}");
    let e = err("year = 'abc'");
    assert!(e.contains("'abc'") && e.contains("integer"), "{e}");
    assert!(err("year = 1.5").contains("year"));
    assert!(err("year = 99999999999").contains("out of range"));
    assert!(err("region = 5").contains("quoted string"));
    assert!(err("day = '2024-13-01'").contains("'day'"));
    assert!(err("day = TIMESTAMP '2024-01-01 00:00:00'").contains("DATE"));
    assert!(err("amt = 'x'").contains("decimal"));
    assert!(err("flag = 1").contains("TRUE or FALSE"));
    assert!(err("flag = 'yes'").contains("'flag'"));
    assert!(err("year = ''").contains("empty"));
    let e = err("region = ");
    assert!(
        e.contains("byte 9") && e.contains("expected a literal"),
        "{e}"
    );
    let e = err("region 'EU'");
    assert!(
        e.contains("byte 7") && e.contains("comparison operator"),
        "{e}"
    );
    let e = err("region = 'EU' year = 1");
    assert!(e.contains("byte 14") && e.contains("found 'year'"), "{e}");
    let e = err("(region = 'EU'");
    assert!(e.contains("expected ')'"), "{e}");
    let e = err("region = 'EU");
    assert!(e.contains("unterminated"), "{e}");
    let e = err("region = 'EU' )");
    assert!(e.contains("AND, OR or the end"), "{e}");
    assert!(err("").contains("expected a column name"));
    assert!(err("region ~ 'x'").contains("unexpected character '~'"));
    assert!(err("year IN ()").contains("expected a literal"));
    assert!(err("year NOT = 1").contains("IN or BETWEEN"));
    assert!(err("year BETWEEN 1 OR 2").contains("expected AND"));
    assert!(err(&"(".repeat(1000)).contains("nesting"));
    assert!(err(&"NOT ".repeat(1000)).contains("nesting"));
    let e =
        PartitionPredicate::parse("v = 1", &schema(), &[], ColumnMappingMode::None).unwrap_err();
    assert!(e.to_string().contains("no partition columns"), "{e}");
    assert!(matches!(e, Error::InvalidArgument(_)));
    // A bad partition value is reported when matching.
    let p = parse("year = 1").unwrap();
    let e = p.matches(&values(&[("year", Some("x"))])).unwrap_err();
    assert!(e.to_string().contains("year"), "{e}");
}

#[test]
fn column_mapping_uses_physical_names() {
    let mut metadata = serde_json::Map::new();
    metadata.insert(
        "delta.columnMapping.physicalName".into(),
        "col-5f2c-region".into(),
    );
    let schema = StructType::new(vec![
        StructField::new("Region", PrimitiveType::String, true).with_metadata(metadata),
        StructField::new("v", PrimitiveType::Long, true),
    ]);
    let parts = vec!["Region".to_string()];
    let p = PartitionPredicate::parse("region IN ('EU')", &schema, &parts, ColumnMappingMode::Name)
        .unwrap();
    assert_eq!(p.columns(), vec!["Region"]);
    assert_eq!(p.to_string(), "Region IN ('EU')");
    assert!(
        p.matches(&values(&[("col-5f2c-region", Some("EU"))]))
            .unwrap()
    );
    assert!(
        !p.matches(&values(&[("col-5f2c-region", Some("US"))]))
            .unwrap()
    );
    // Without column mapping the logical name is the key.
    let p = PartitionPredicate::parse("region = 'EU'", &schema, &parts, ColumnMappingMode::None)
        .unwrap();
    assert!(p.matches(&values(&[("Region", Some("EU"))])).unwrap());
}

#[test]
fn soft_keywords_as_column_names() {
    let schema = StructType::new(vec![
        StructField::new("date", PrimitiveType::Date, true),
        StructField::new("timestamp", PrimitiveType::TimestampNtz, true),
    ]);
    let parts = vec!["date".to_string(), "timestamp".to_string()];
    let p = PartitionPredicate::parse(
        "date = DATE '2024-01-01' AND timestamp < '2024-01-01 00:00:01Z'",
        &schema,
        &parts,
        ColumnMappingMode::None,
    )
    .unwrap();
    assert_eq!(
        p.to_string(),
        "`date` = DATE '2024-01-01' AND `timestamp` < TIMESTAMP '2024-01-01 00:00:01.000000'"
    );
    let again = PartitionPredicate::parse(&p.to_string(), &schema, &parts, ColumnMappingMode::None);
    assert_eq!(again.unwrap(), p);
    let vals = values(&[
        ("date", Some("2024-01-01")),
        ("timestamp", Some("2024-01-01 00:00:00.999999")),
    ]);
    assert!(p.matches(&vals).unwrap());
}

#[test]
fn decimal_literals() {
    assert_eq!(decimal_literal("1.5", 2), Some((150, 2)));
    assert_eq!(decimal_literal("1.500", 2), Some((150, 2)));
    assert_eq!(decimal_literal("-1.505", 2), Some((-1505, 3)));
    assert_eq!(decimal_literal("12E2", 0), Some((1200, 0)));
    assert_eq!(decimal_literal(".5", 0), Some((5, 1)));
    assert_eq!(decimal_literal("1.2.3", 0), None);
    assert_eq!(decimal_literal("-", 0), None);
    assert_eq!(compare_decimals(-5, 2, -51, 3), Some(Ordering::Greater));
    assert_eq!(
        compare_decimals(i128::MAX, 0, 1, 38),
        Some(Ordering::Greater)
    );
}
