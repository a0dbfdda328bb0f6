//! Unit tests of the parent module.

use std::sync::Arc;

use arrow::array::{
    BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{Field, Int32Type, Schema};

use super::*;

fn stats_of(batch: &RecordBatch, max: Option<usize>) -> Value {
    let mut collector = StatsCollector::new(&batch.schema(), max);
    collector.update(batch).unwrap();
    serde_json::from_str(&collector.to_json().unwrap()).unwrap()
}

#[test]
fn every_type_gets_the_right_bounds() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("i", ArrowType::Int32, true),
        Field::new("f", ArrowType::Float64, true),
        Field::new("d", ArrowType::Date32, true),
        Field::new(
            "t",
            ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("n", ArrowType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("m", ArrowType::Decimal128(10, 2), true),
        Field::new("b", ArrowType::Boolean, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![Some(5), None, Some(-7)])),
            Arc::new(Float64Array::from(vec![1.5, -2.25, 0.0])),
            Arc::new(Date32Array::from(vec![0, 19_000, 1])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![1_001, 2_000_500, 3]).with_timezone("UTC"),
            ),
            Arc::new(TimestampMicrosecondArray::from(vec![1_000, 5_000, 3_000])),
            Arc::new(
                Decimal128Array::from(vec![12345, -1, 0])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(BooleanArray::from(vec![true, false, true])),
        ],
    )
    .unwrap();
    let s = stats_of(&batch, None);
    assert_eq!(s["numRecords"], 3);
    assert_eq!(s["minValues"]["i"], -7);
    assert_eq!(s["maxValues"]["i"], 5);
    assert_eq!(s["nullCount"]["i"], 1);
    assert_eq!(s["minValues"]["f"], -2.25);
    assert_eq!(s["minValues"]["d"], "1970-01-01");
    assert_eq!(s["maxValues"]["d"], "2022-01-08");
    // Min rounds down, max rounds up to the millisecond.
    assert_eq!(s["minValues"]["t"], "1970-01-01T00:00:00.000Z");
    assert_eq!(s["maxValues"]["t"], "1970-01-01T00:00:02.001Z");
    assert_eq!(s["maxValues"]["n"], "1970-01-01T00:00:00.005");
    assert_eq!(s["minValues"]["m"], -0.01);
    assert_eq!(s["maxValues"]["m"], 123.45);
    assert!(s["minValues"].get("b").is_none());
    assert_eq!(s["nullCount"]["b"], 0);
}

#[test]
fn long_strings_keep_safe_prefixes() {
    let long = "x".repeat(40);
    let schema = Arc::new(Schema::new(vec![Field::new("s", ArrowType::Utf8, true)]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(vec![long.as_str(), "a"]))],
    )
    .unwrap();
    let s = stats_of(&batch, None);
    assert_eq!(s["minValues"]["s"], "a");
    let max = s["maxValues"]["s"].as_str().unwrap();
    assert_eq!(max.chars().count(), STRING_PREFIX_CHARS + 1);
    assert!(max > long.as_str());
}

#[test]
fn nan_drops_bounds_and_nested_fields_nest() {
    let inner = Fields::from(vec![Field::new("x", ArrowType::Int32, true)]);
    let schema = Arc::new(Schema::new(vec![
        Field::new("f", ArrowType::Float64, true),
        Field::new("s", ArrowType::Struct(inner.clone()), true),
        Field::new("later", ArrowType::Int32, true),
    ]));
    let structs = StructArray::new(
        inner,
        vec![Arc::new(Int32Array::from(vec![1, 100]))],
        Some(NullBuffer::from(vec![true, false])),
    );
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float64Array::from(vec![1.0, f64::NAN])),
            Arc::new(structs),
            Arc::new(Int32Array::from(vec![1, 2])),
        ],
    )
    .unwrap();
    let s = stats_of(&batch, Some(2));
    assert!(s["minValues"].get("f").is_none());
    // The value under a null struct is not a value: the max is 1, and it counts as null.
    assert_eq!(s["maxValues"]["s"]["x"], 1);
    assert_eq!(s["nullCount"]["s"]["x"], 1);
    // Only the first two leaves are indexed.
    assert!(s["nullCount"].get("later").is_none());
}

/// A small deterministic generator (SplitMix64), for property-style tests.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// `true` with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn gen_float(g: &mut Gen, nan_percent: u64) -> f64 {
    match g.below(100) {
        n if n < nan_percent => f64::NAN,
        n if n < nan_percent + 5 => -0.0,
        n if n < nan_percent + 10 => 0.0,
        n if n < nan_percent + 12 => f64::INFINITY,
        n if n < nan_percent + 14 => f64::NEG_INFINITY,
        _ => (g.next() as i64 as f64) / 1e9,
    }
}

fn gen_text(g: &mut Gen) -> String {
    const PIECES: [&str; 8] = ["a", "z", "é", "日本", "\u{10FFFF}", "0", " ", "Ω"];
    let len = match g.below(10) {
        0 => 0,
        1..=2 => 30 + g.below(60) as usize,
        _ => g.below(8) as usize,
    };
    (0..len).map(|_| PIECES[g.below(8) as usize]).collect()
}

fn every_type_schema() -> Arc<Schema> {
    let inner = Fields::from(vec![
        Field::new("x", ArrowType::Int64, true),
        Field::new("s", ArrowType::Utf8, true),
        Field::new(
            "deep",
            ArrowType::Struct(Fields::from(vec![Field::new(
                "f",
                ArrowType::Float32,
                true,
            )])),
            true,
        ),
    ]);
    Arc::new(Schema::new(vec![
        Field::new("i8", ArrowType::Int8, true),
        Field::new("i16", ArrowType::Int16, true),
        Field::new("i32", ArrowType::Int32, true),
        Field::new("i64", ArrowType::Int64, true),
        Field::new("u8", ArrowType::UInt8, true),
        Field::new("u16", ArrowType::UInt16, true),
        Field::new("u32", ArrowType::UInt32, true),
        Field::new("f32", ArrowType::Float32, true),
        Field::new("f64", ArrowType::Float64, true),
        Field::new("date", ArrowType::Date32, true),
        Field::new(
            "ts",
            ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "ntz",
            ArrowType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
        Field::new("dec", ArrowType::Decimal128(10, 2), true),
        Field::new("dec15", ArrowType::Decimal128(15, 3), true),
        Field::new("dec1", ArrowType::Decimal128(1, 0), true),
        Field::new("dec30", ArrowType::Decimal128(30, 2), true),
        Field::new("text", ArrowType::Utf8, true),
        Field::new("large", ArrowType::LargeUtf8, true),
        Field::new("view", ArrowType::Utf8View, true),
        Field::new("bool", ArrowType::Boolean, true),
        Field::new("bin", ArrowType::Binary, true),
        Field::new_list("list", Field::new_list_field(ArrowType::Int32, true), true),
        Field::new("st", ArrowType::Struct(inner), true),
    ]))
}

/// Random rows of every type: nulls, NaN (in some batches), ±0, infinities, extreme
/// integers, empty, long and multi-byte strings, null structs over non-null values.
fn every_type_batch(g: &mut Gen, rows: usize) -> RecordBatch {
    use arrow::array::{
        BinaryArray, Date32Array, Float32Array, Int8Array, Int16Array, Int64Array,
        LargeStringArray, ListArray, StringViewArray, UInt8Array, UInt16Array, UInt32Array,
    };
    let schema = every_type_schema();
    let null_percent = [0, 10, 50, 100][g.below(4) as usize];
    let nan_percent = if g.chance(30) { 5 } else { 0 };
    let valid = |g: &mut Gen| !g.chance(null_percent);
    macro_rules! col {
        ($array:ty, $value:expr) => {{
            let values: Vec<_> = (0..rows)
                .map(|_| {
                    if valid(g) {
                        Some($value(&mut *g))
                    } else {
                        None
                    }
                })
                .collect();
            Arc::new(<$array>::from(values)) as ArrayRef
        }};
    }
    let extreme = |g: &mut Gen| match g.below(10) {
        0 => i64::MIN,
        1 => i64::MAX,
        _ => g.next() as i64 >> g.below(64),
    };
    let micros = |g: &mut Gen| (g.next() % 4_000_000_000_000_000) as i64 - 1_000_000_000_000_000;
    let texts: Vec<Option<String>> = (0..rows)
        .map(|_| if valid(g) { Some(gen_text(g)) } else { None })
        .collect();
    let decimal = |values: Vec<Option<i128>>, p: u8, s: i8| {
        Arc::new(
            Decimal128Array::from(values)
                .with_precision_and_scale(p, s)
                .unwrap(),
        ) as ArrayRef
    };
    let dec10: Vec<Option<i128>> = (0..rows)
        .map(|_| valid(g).then(|| (g.next() % 19_999_999_999) as i128 - 9_999_999_999))
        .collect();
    let dec15: Vec<Option<i128>> = (0..rows)
        .map(|_| valid(g).then(|| (g.next() % 1_999_999_999_999_999) as i128 - 999_999_999_999_999))
        .collect();
    let dec1: Vec<Option<i128>> = (0..rows)
        .map(|_| valid(g).then(|| (g.next() % 19) as i128 - 9))
        .collect();
    let dec30: Vec<Option<i128>> = (0..rows)
        .map(|_| valid(g).then(|| g.next() as i128 * 1_000_000))
        .collect();
    let list: Vec<Option<Vec<Option<i32>>>> = (0..rows)
        .map(|_| valid(g).then(|| (0..g.below(3)).map(|_| Some(g.next() as i32)).collect()))
        .collect();
    let struct_nulls: Vec<bool> = (0..rows).map(|_| !g.chance(20)).collect();
    let deep_nulls: Vec<bool> = (0..rows).map(|_| !g.chance(20)).collect();
    let inner_text: Vec<Option<String>> = (0..rows)
        .map(|_| if valid(g) { Some(gen_text(g)) } else { None })
        .collect();
    let ArrowType::Struct(inner) = schema.field(schema.fields().len() - 1).data_type().clone()
    else {
        unreachable!()
    };
    let ArrowType::Struct(deep) = inner[2].data_type().clone() else {
        unreachable!()
    };
    let deep_array = StructArray::new(
        deep,
        vec![col!(Float32Array, |g: &mut Gen| gen_float(g, nan_percent) as f32)],
        Some(NullBuffer::from(deep_nulls)),
    );
    let st = StructArray::new(
        inner,
        vec![
            col!(Int64Array, extreme),
            Arc::new(StringArray::from(inner_text)),
            Arc::new(deep_array),
        ],
        Some(NullBuffer::from(struct_nulls)),
    );
    let columns: Vec<ArrayRef> = vec![
        col!(Int8Array, |g: &mut Gen| g.next() as i8),
        col!(Int16Array, |g: &mut Gen| g.next() as i16),
        col!(Int32Array, |g: &mut Gen| g.next() as i32),
        col!(Int64Array, extreme),
        col!(UInt8Array, |g: &mut Gen| g.next() as u8),
        col!(UInt16Array, |g: &mut Gen| g.next() as u16),
        col!(UInt32Array, |g: &mut Gen| g.next() as u32),
        col!(Float32Array, |g: &mut Gen| gen_float(g, nan_percent) as f32),
        col!(Float64Array, |g: &mut Gen| gen_float(g, nan_percent)),
        col!(Date32Array, |g: &mut Gen| (g.next() % 200_000) as i32
            - 100_000),
        Arc::new(
            TimestampMicrosecondArray::from(
                (0..rows)
                    .map(|_| valid(g).then(|| micros(g)))
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
        col!(TimestampMicrosecondArray, micros),
        decimal(dec10, 10, 2),
        decimal(dec15, 15, 3),
        decimal(dec1, 1, 0),
        decimal(dec30, 30, 2),
        Arc::new(StringArray::from(texts.clone())),
        Arc::new(LargeStringArray::from(texts.clone())),
        Arc::new(StringViewArray::from(texts.clone())),
        col!(BooleanArray, |g: &mut Gen| g.chance(50)),
        Arc::new(BinaryArray::from(
            texts
                .iter()
                .map(|t| t.as_deref().map(str::as_bytes))
                .collect::<Vec<_>>(),
        )),
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(list)),
        Arc::new(st),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

/// Writes the batch with the parquet crate in row groups of `group_rows`, and folds each
/// row group into a collector from the column chunk statistics.
fn stats_from_parquet(batch: &RecordBatch, group_rows: usize, max: Option<usize>) -> Value {
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    let metadata = writer.close().unwrap();
    let descr = parquet::arrow::ArrowSchemaConverter::new()
        .convert(&batch.schema())
        .unwrap();
    let mut file = StatsCollector::new(&batch.schema(), max);
    file.link_parquet(&descr);
    let mut offset = 0;
    for group in metadata.row_groups() {
        let rows = group.num_rows() as usize;
        let chunks: Vec<Option<&Statistics>> =
            group.columns().iter().map(|c| c.statistics()).collect();
        let mut part = StatsCollector::new(&batch.schema(), max);
        part.link_parquet(&descr);
        // Two slices, as a row group gathered from several batches.
        let half = rows / 2;
        part.update_row_group(
            &[
                batch.slice(offset, half),
                batch.slice(offset + half, rows - half),
            ],
            &chunks,
        )
        .unwrap();
        file.merge(&part).unwrap();
        offset += rows;
    }
    assert_eq!(offset, batch.num_rows());
    serde_json::from_str(&file.to_json().unwrap()).unwrap()
}

#[test]
fn stats_from_parquet_metadata_equal_stats_from_the_data() {
    let mut g = Gen(42);
    let mut nan_seen = false;
    for round in 0..60 {
        let rows = [0, 1, 2, 7, 50, 333][round % 6];
        let batch = every_type_batch(&mut g, rows);
        let computed = stats_of(&batch, None);
        for group_rows in [1, 5, 64, 1024] {
            let derived = stats_from_parquet(&batch, group_rows, None);
            assert_eq!(
                derived, computed,
                "round {round}, row groups of {group_rows}"
            );
        }
        assert_eq!(
            stats_from_parquet(&batch, 16, Some(9)),
            stats_of(&batch, Some(9)),
            "round {round}, 9 indexed leaves"
        );
        nan_seen |= rows > 0
            && computed["minValues"].get("f64").is_none()
            && computed["nullCount"]["f64"] != rows as i64;
    }
    assert!(nan_seen, "some rounds have NaN");
}

#[test]
fn parquet_bounds_follow_the_delta_rules() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("f", ArrowType::Float64, true),
        Field::new("z", ArrowType::Float64, true),
        Field::new("s", ArrowType::Utf8, true),
        Field::new("t", ArrowType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("u", ArrowType::UInt32, true),
    ]));
    let long = "ü".repeat(40);
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::NAN), None])),
            Arc::new(Float64Array::from(vec![Some(-0.0), Some(0.0), None])),
            Arc::new(StringArray::from(vec![Some(long.as_str()), Some(""), None])),
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_001),
                Some(2_000_500),
                None,
            ])),
            Arc::new(arrow::array::UInt32Array::from(vec![
                Some(u32::MAX),
                Some(1),
                None,
            ])),
        ],
    )
    .unwrap();
    let s = stats_from_parquet(&batch, 1024, None);
    assert_eq!(s, stats_of(&batch, None));
    // NaN: no bounds (Parquet statistics skip NaN, Delta gives the column up).
    assert!(s["minValues"].get("f").is_none());
    assert_eq!(s["nullCount"]["f"], 1);
    // Zeros: a safe range around zero.
    assert_eq!(s["minValues"]["z"].as_f64(), Some(0.0));
    assert_eq!(s["maxValues"]["z"].as_f64(), Some(0.0));
    // The 64-byte Parquet bound of an 80-byte string is inexact: computed instead.
    assert_eq!(s["minValues"]["s"], "");
    let max = s["maxValues"]["s"].as_str().unwrap();
    assert_eq!(max.chars().count(), STRING_PREFIX_CHARS + 1);
    assert!(max > long.as_str());
    assert_eq!(s["minValues"]["t"], "1970-01-01T00:00:00.001");
    assert_eq!(s["maxValues"]["t"], "1970-01-01T00:00:02.001");
    assert_eq!(s["maxValues"]["u"], i64::from(u32::MAX));
    assert_eq!(s["minValues"]["u"], 1);
}

#[test]
fn exact_chunk_statistics_are_used_and_inexact_ones_are_not() {
    use parquet::file::statistics::ValueStatistics;
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", ArrowType::Int64, true),
        Field::new("b", ArrowType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(arrow::array::Int64Array::from(vec![1, 2, 3])),
            Arc::new(arrow::array::Int64Array::from(vec![1, 2, 3])),
        ],
    )
    .unwrap();
    let descr = parquet::arrow::ArrowSchemaConverter::new()
        .convert(&schema)
        .unwrap();
    // Wider bounds than the data, to tell where they came from.
    let exact = Statistics::int64(Some(-100), Some(100), None, Some(0), false);
    let inexact = Statistics::Int64(
        ValueStatistics::new(Some(-100), Some(100), None, Some(0), false).with_max_is_exact(false),
    );
    let mut stats = StatsCollector::new(&schema, None);
    stats.link_parquet(&descr);
    stats
        .update_row_group(&[batch], &[Some(&exact), Some(&inexact)])
        .unwrap();
    let s: Value = serde_json::from_str(&stats.to_json().unwrap()).unwrap();
    assert_eq!(s["minValues"]["a"], -100);
    assert_eq!(s["maxValues"]["a"], 100);
    assert_eq!(s["minValues"]["b"], 1);
    assert_eq!(s["maxValues"]["b"], 3);
    assert_eq!(s["numRecords"], 3);
}
