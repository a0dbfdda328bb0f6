//! Column access for checkpoint batches: each column is checked and downcast once per batch.

use super::*;

/// What errors name: the checkpoint file.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
}

impl Ctx<'_> {
    pub(super) fn error(&self, reason: impl Into<String>) -> Error {
        Error::invalid_log(self.file, reason)
    }

    pub(super) fn type_error(&self, column: &str, found: &DataType, expected: &str) -> Error {
        self.error(format!(
            "column '{column}' has type {found}, expected {expected}"
        ))
    }

    pub(super) fn arrow_error(&self, column: &str, e: ArrowError) -> Error {
        Error::arrow(
            format!("reading column '{column}' of checkpoint '{}'", self.file),
            e,
        )
    }

    pub(super) fn top_level_struct(
        &self,
        name: &str,
        array: &ArrayRef,
    ) -> Result<Option<StructArray>> {
        match array.data_type() {
            DataType::Null => Ok(None),
            DataType::Struct(_) => Ok(array.as_struct_opt().cloned()),
            other => Err(self.type_error(name, other, "a struct")),
        }
    }

    /// A required field that is null in a non-null action.
    pub(super) fn missing(&self, row: usize, column: &str) -> Error {
        let action = column.split('.').next().unwrap_or(column);
        self.error(format!(
            "row {row} holds a '{action}' action without its required field '{column}'"
        ))
    }
}

/// Whether a column's values are all null by type (some writers store all-null columns so).
pub(super) fn is_null_type(array: &ArrayRef) -> bool {
    matches!(array.data_type(), DataType::Null)
}

/// A string column of any of Arrow's string layouts.
#[derive(Clone)]
pub(super) enum StrCol {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl StrCol {
    pub(super) fn new(array: &ArrayRef, column: &str, ctx: Ctx<'_>) -> Result<Option<Self>> {
        Ok(Some(match array.data_type() {
            DataType::Null => return Ok(None),
            DataType::Utf8 => Self::Utf8(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => Self::Large(array.as_string::<i64>().clone()),
            DataType::Utf8View => Self::View(array.as_string_view().clone()),
            DataType::Dictionary(_, value) if is_string_type(value) => {
                let cast = cast(array, &DataType::Utf8).map_err(|e| ctx.arrow_error(column, e))?;
                Self::Utf8(cast.as_string::<i32>().clone())
            }
            other => return Err(ctx.type_error(column, other, "a string")),
        }))
    }

    pub(super) fn get(&self, i: usize) -> Option<&str> {
        match self {
            Self::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Self::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Self::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }

    pub(super) fn is_null(&self, i: usize) -> bool {
        match self {
            Self::Utf8(a) => a.is_null(i),
            Self::Large(a) => a.is_null(i),
            Self::View(a) => a.is_null(i),
        }
    }
}

pub(super) fn is_string_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

pub(super) fn is_integer_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// An integer column of any width, widened to `i64`.
pub(super) fn int_col(array: &ArrayRef, column: &str, ctx: Ctx<'_>) -> Result<Option<Int64Array>> {
    match array.data_type() {
        DataType::Null => Ok(None),
        DataType::Int64 => Ok(Some(array.as_primitive::<Int64Type>().clone())),
        t if is_integer_type(t) => {
            let cast = cast(array, &DataType::Int64).map_err(|e| ctx.arrow_error(column, e))?;
            Ok(Some(cast.as_primitive::<Int64Type>().clone()))
        }
        other => Err(ctx.type_error(column, other, "an integer")),
    }
}

pub(super) fn bool_col(
    array: &ArrayRef,
    column: &str,
    ctx: Ctx<'_>,
) -> Result<Option<BooleanArray>> {
    match array.data_type() {
        DataType::Null => Ok(None),
        DataType::Boolean => Ok(Some(array.as_boolean().clone())),
        other => Err(ctx.type_error(column, other, "a boolean")),
    }
}

/// A `map<string,string>` column (also accepted as a list of key/value structs).
pub(super) struct MapCol {
    pub(super) offsets: Vec<usize>,
    pub(super) nulls: Option<arrow::buffer::NullBuffer>,
    pub(super) keys: StrCol,
    pub(super) values: Option<StrCol>,
}

impl MapCol {
    pub(super) fn new(array: &ArrayRef, column: &str, ctx: Ctx<'_>) -> Result<Option<Self>> {
        let (offsets, nulls, entries) = match array.data_type() {
            DataType::Null => return Ok(None),
            DataType::Map(_, _) => {
                let map: &MapArray = array.as_map();
                (map.value_offsets(), map.nulls(), map.entries())
            }
            DataType::List(field) if matches!(field.data_type(), DataType::Struct(f) if f.len() == 2) =>
            {
                let list: &ListArray = array.as_list::<i32>();
                let entries = list
                    .values()
                    .as_struct_opt()
                    .ok_or_else(|| ctx.type_error(column, array.data_type(), "a map"))?;
                (list.value_offsets(), list.nulls(), entries)
            }
            other => return Err(ctx.type_error(column, other, "a map<string,string>")),
        };
        let key_column = format!("{column}.key");
        let keys = StrCol::new(entries.column(0), &key_column, ctx)?
            .ok_or_else(|| ctx.type_error(&key_column, &DataType::Null, "a string"))?;
        let values = StrCol::new(entries.column(1), &format!("{column}.value"), ctx)?;
        let offsets = offsets
            .iter()
            .map(|&o| usize::try_from(o).unwrap_or(0))
            .collect();
        Ok(Some(Self {
            offsets,
            nulls: nulls.cloned(),
            keys,
            values,
        }))
    }

    pub(super) fn range(&self, i: usize) -> Option<Range<usize>> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(i)) {
            return None;
        }
        Some(self.offsets[i]..self.offsets[i + 1])
    }

    /// Entries with null values kept as `None` (partition values, tags).
    pub(super) fn get(&self, i: usize) -> Option<PartitionValues> {
        let range = self.range(i)?;
        Some(
            range
                .filter_map(|j| {
                    let key = self.keys.get(j)?;
                    let value = self.values.as_ref().and_then(|v| v.get(j));
                    Some((key.to_string(), value.map(str::to_string)))
                })
                .collect(),
        )
    }

    /// Entries with null values dropped (configuration, format options).
    pub(super) fn get_non_null(&self, i: usize) -> HashMap<String, String> {
        let Some(range) = self.range(i) else {
            return HashMap::new();
        };
        let mut map = HashMap::with_capacity(range.len());
        for j in range {
            if let (Some(key), Some(value)) = (
                self.keys.get(j),
                self.values.as_ref().and_then(|v| v.get(j)),
            ) {
                map.insert(key.to_string(), value.to_string());
            }
        }
        map
    }
}

/// A `list<string>` column.
pub(super) struct StrListCol {
    pub(super) list: ListArray,
    pub(super) values: Option<StrCol>,
}

impl StrListCol {
    pub(super) fn new(array: &ArrayRef, column: &str, ctx: Ctx<'_>) -> Result<Option<Self>> {
        let list = match array.data_type() {
            DataType::Null => return Ok(None),
            DataType::List(_) => array.as_list::<i32>().clone(),
            DataType::LargeList(_) | DataType::ListView(_) | DataType::LargeListView(_) => {
                let target = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
                let cast = cast(array, &target).map_err(|e| ctx.arrow_error(column, e))?;
                cast.as_list::<i32>().clone()
            }
            other => return Err(ctx.type_error(column, other, "a list<string>")),
        };
        let values = StrCol::new(list.values(), &format!("{column}.element"), ctx)?;
        Ok(Some(Self { list, values }))
    }

    pub(super) fn get(&self, i: usize) -> Option<Vec<String>> {
        if self.list.is_null(i) {
            return None;
        }
        let offsets = self.list.value_offsets();
        let start = usize::try_from(offsets[i]).unwrap_or(0);
        let end = usize::try_from(offsets[i + 1]).unwrap_or(0);
        Some(
            (start..end)
                .filter_map(|j| self.values.as_ref().and_then(|v| v.get(j)))
                .map(str::to_string)
                .collect(),
        )
    }
}

/// The children of one action struct, looked up by name.
pub(super) struct Children<'a> {
    pub(super) array: &'a StructArray,
    pub(super) prefix: &'a str,
    pub(super) ctx: Ctx<'a>,
}

impl<'a> Children<'a> {
    pub(super) fn new(array: &'a StructArray, prefix: &'a str, ctx: Ctx<'a>) -> Self {
        Self { array, prefix, ctx }
    }

    pub(super) fn column(&self, name: &str) -> Option<(&'a ArrayRef, String)> {
        let array = self.array.column_by_name(name)?;
        Some((array, format!("{}.{name}", self.prefix)))
    }

    pub(super) fn str(&self, name: &str) -> Result<Option<StrCol>> {
        match self.column(name) {
            Some((array, column)) => StrCol::new(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    pub(super) fn int(&self, name: &str) -> Result<Option<Int64Array>> {
        match self.column(name) {
            Some((array, column)) => int_col(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    pub(super) fn bool(&self, name: &str) -> Result<Option<BooleanArray>> {
        match self.column(name) {
            Some((array, column)) => bool_col(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    pub(super) fn map(&self, name: &str) -> Result<Option<MapCol>> {
        match self.column(name) {
            Some((array, column)) => MapCol::new(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    pub(super) fn str_list(&self, name: &str) -> Result<Option<StrListCol>> {
        match self.column(name) {
            Some((array, column)) => StrListCol::new(array, &column, self.ctx),
            None => Ok(None),
        }
    }

    pub(super) fn structure(&self, name: &str) -> Result<Option<(StructArray, String)>> {
        match self.column(name) {
            None => Ok(None),
            Some((array, column)) => match array.data_type() {
                DataType::Null => Ok(None),
                DataType::Struct(_) => Ok(array.as_struct_opt().cloned().map(|s| (s, column))),
                other => Err(self.ctx.type_error(&column, other, "a struct")),
            },
        }
    }
}

pub(super) fn str_at(col: &Option<StrCol>, i: usize) -> Option<&str> {
    col.as_ref().and_then(|c| c.get(i))
}

pub(super) fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

pub(super) fn string_at(col: &Option<StrCol>, i: usize) -> Option<String> {
    str_at(col, i).map(str::to_string)
}

pub(super) fn int_at(col: &Option<Int64Array>, i: usize) -> Option<i64> {
    col.as_ref().and_then(|c| c.is_valid(i).then(|| c.value(i)))
}

pub(super) fn bool_at(col: &Option<BooleanArray>, i: usize) -> Option<bool> {
    col.as_ref().and_then(|c| c.is_valid(i).then(|| c.value(i)))
}

pub(super) fn map_at(col: &Option<MapCol>, i: usize) -> Option<PartitionValues> {
    col.as_ref().and_then(|c| c.get(i))
}

pub(super) fn i32_at(
    col: &Option<Int64Array>,
    i: usize,
    column: &str,
    ctx: Ctx<'_>,
) -> Result<Option<i32>> {
    int_at(col, i)
        .map(|v| {
            i32::try_from(v).map_err(|_| {
                ctx.error(format!(
                    "row {i}: '{column}' is {v}, which does not fit a 32-bit integer"
                ))
            })
        })
        .transpose()
}
