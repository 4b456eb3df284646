//! ARRAY, MAP and STRUCT values as upstream spells them in MySQL text results, which is
//! also the text the BE's loads parse (an INSERT sends its rows that way):
//! `[1, 2, 3]`, `["a", "b"]`, `{"k1":1, "k2":2}`, `{1:"a"}`, `{"f1":1, "f2":"x"}`; a NULL
//! element is `null`. Strings, dates and datetimes are double-quoted (a `"` or `\` inside
//! escaped with `\`), booleans are 1/0, numbers as they print.

use std::fmt::Write;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// Whether values of `t` are written by [`value_text`].
pub fn is_nested(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) | DataType::Map(..) | DataType::Struct(_)
    )
}

fn options() -> FormatOptions<'static> {
    FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_datetime_format(Some("%Y-%m-%d %H:%M:%S%.f"))
}

/// Row `i` of a nested array (the caller checks it is not NULL).
pub fn value_text(array: &dyn Array, i: usize) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, array, i)?;
    Ok(out)
}

fn write_value(out: &mut String, array: &dyn Array, i: usize) -> Result<(), String> {
    if array.is_null(i) {
        out.push_str("null");
        return Ok(());
    }
    let list = |out: &mut String, items: &dyn Array| -> Result<(), String> {
        out.push('[');
        for j in 0..items.len() {
            if j > 0 {
                out.push_str(", ");
            }
            write_value(out, items, j)?;
        }
        out.push(']');
        Ok(())
    };
    match array.data_type() {
        DataType::List(_) => list(out, array.as_list::<i32>().value(i).as_ref()),
        DataType::LargeList(_) => list(out, array.as_list::<i64>().value(i).as_ref()),
        DataType::FixedSizeList(..) => list(out, array.as_fixed_size_list().value(i).as_ref()),
        DataType::Map(..) => {
            let m = array.as_map();
            let entries = m.value(i);
            let (keys, values) = (entries.column(0), entries.column(1));
            out.push('{');
            for j in 0..entries.len() {
                if j > 0 {
                    out.push_str(", ");
                }
                write_value(out, keys.as_ref(), j)?;
                out.push(':');
                write_value(out, values.as_ref(), j)?;
            }
            out.push('}');
            Ok(())
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            out.push('{');
            for (j, f) in fields.iter().enumerate() {
                if j > 0 {
                    out.push_str(", ");
                }
                quoted(out, f.name());
                out.push(':');
                write_value(out, s.column(j).as_ref(), i)?;
            }
            out.push('}');
            Ok(())
        }
        DataType::Boolean => {
            out.push(if array.as_boolean().value(i) { '1' } else { '0' });
            Ok(())
        }
        t => {
            let opts = options();
            let f = ArrayFormatter::try_new(array, &opts).map_err(|e| e.to_string())?;
            let text = f.value(i).to_string();
            let quote = matches!(
                t,
                DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Date32
                    | DataType::Date64
                    | DataType::Timestamp(..)
                    | DataType::Time32(_)
                    | DataType::Time64(_)
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::BinaryView
                    | DataType::Dictionary(..)
            );
            if quote {
                quoted(out, &text);
            } else {
                let _ = write!(out, "{text}");
            }
            Ok(())
        }
    }
}

fn quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, Int32Array, Int32Builder, ListBuilder, MapBuilder, StringArray, StringBuilder, StructArray,
    };
    use datafusion::arrow::datatypes::Field;

    use super::*;

    #[test]
    fn nested_values_as_upstream_shows_them() {
        let mut b = ListBuilder::new(Int32Builder::new());
        b.append_value([Some(1), None, Some(3)]);
        b.append_null();
        b.append_value([]);
        let ints = b.finish();
        assert_eq!(value_text(&ints, 0).unwrap(), "[1, null, 3]");
        assert_eq!(value_text(&ints, 2).unwrap(), "[]");
        assert!(is_nested(ints.data_type()));

        let mut b = ListBuilder::new(StringBuilder::new());
        b.append_value([Some("a"), Some("q\"t"), None]);
        assert_eq!(value_text(&b.finish(), 0).unwrap(), r#"["a", "q\"t", null]"#);

        let mut m = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
        m.keys().append_value("k1");
        m.values().append_value(1);
        m.keys().append_value("k2");
        m.values().append_null();
        m.append(true).unwrap();
        assert_eq!(value_text(&m.finish(), 0).unwrap(), r#"{"k1":1, "k2":null}"#);

        let s = StructArray::from(vec![
            (Arc::new(Field::new("f1", DataType::Int32, true)), Arc::new(Int32Array::from(vec![1])) as ArrayRef),
            (Arc::new(Field::new("f2", DataType::Utf8, true)), Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
        ]);
        assert_eq!(value_text(&s, 0).unwrap(), r#"{"f1":1, "f2":"x"}"#);
    }
}
