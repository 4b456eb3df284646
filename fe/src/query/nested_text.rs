//! ARRAY, MAP and STRUCT values as upstream spells them in MySQL text results, which is
//! also the text the BE's loads parse (an INSERT sends its rows that way):
//! `[1, 2, 3]`, `["a", "b"]`, `{"k1":1, "k2":2}`, `{1:"a"}`, `{"f1":1, "f2":"x"}`; a NULL
//! element is `null`. Strings, dates and datetimes are double-quoted (a `"` or `\` inside
//! escaped with `\`), booleans are 1/0, numbers as they print.

use std::fmt::Write;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Decimal128Type};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, AccessExpr, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, Subscript,
};
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

/// Row `i` of a nested array (the caller checks it is not NULL), as results show it.
pub fn value_text(array: &dyn Array, i: usize) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, array, i, false)?;
    Ok(out)
}

/// Row `i` as an INSERT sends it to a load: structs by position (`{1, "x"}`), since a
/// value's field names (`struct(1, 'x')` names them c0, c1) need not be the column's; the
/// rest as [`value_text`].
pub fn load_text(array: &dyn Array, i: usize) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, array, i, true)?;
    Ok(out)
}

fn write_value(out: &mut String, array: &dyn Array, i: usize, positional: bool) -> Result<(), String> {
    // A bare NULL literal (`{'k': NULL}`) is of type Null, whose arrays have no null mask.
    if array.is_null(i) || *array.data_type() == DataType::Null {
        out.push_str("null");
        return Ok(());
    }
    let list = |out: &mut String, items: &dyn Array| -> Result<(), String> {
        out.push('[');
        // Scalar elements share one formatter.
        let plain = plain_formatter(items)?;
        for j in 0..items.len() {
            if j > 0 {
                out.push_str(", ");
            }
            match &plain {
                Some((f, quote)) if !items.is_null(j) && *items.data_type() != DataType::Null => write_plain(out, &f.value(j).to_string(), *quote),
                _ => write_value(out, items, j, positional)?,
            }
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
                write_value(out, keys.as_ref(), j, positional)?;
                out.push(':');
                write_value(out, values.as_ref(), j, positional)?;
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
                if !positional {
                    quoted(out, f.name());
                    out.push(':');
                }
                write_value(out, s.column(j).as_ref(), i, positional)?;
            }
            out.push('}');
            Ok(())
        }
        DataType::Boolean => {
            out.push(if array.as_boolean().value(i) { '1' } else { '0' });
            Ok(())
        }
        // LARGEINT (Decimal128(38, 0)) may hold 39 digits, more than the formatter's
        // precision shows: an integer prints whole.
        DataType::Decimal128(_, 0) => {
            let _ = write!(out, "{}", array.as_primitive::<Decimal128Type>().value(i));
            Ok(())
        }
        _ => {
            let (f, quote) = plain_formatter(array)?.ok_or("no formatter")?;
            write_plain(out, &f.value(i).to_string(), quote);
            Ok(())
        }
    }
}

/// A formatter for an array of scalars the Arrow formatter spells as upstream does, and
/// whether its values are quoted; None for nested arrays, booleans and integers of 128 bits.
fn plain_formatter(array: &dyn Array) -> Result<Option<(ArrayFormatter<'_>, bool)>, String> {
    let t = array.data_type();
    if is_nested(t) || matches!(t, DataType::Boolean | DataType::Decimal128(_, 0)) {
        return Ok(None);
    }
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
    let f = ArrayFormatter::try_new(array, &options()).map_err(|e| e.to_string())?;
    Ok(Some((f, quote)))
}

fn write_plain(out: &mut String, text: &str, quote: bool) {
    if quote {
        quoted(out, text);
    } else {
        out.push_str(text);
    }
}

/// Upstream's names of nested-type functions, in DataFusion's terms: `element_at(x, k)` and
/// `struct_element(s, 'f')` as `x[k]` / `s['f']` (an array's element, a map's value, a
/// struct's field), `size(x)` / `array_size(x)` as `cardinality(x)`, `array(...)` as
/// `make_array(...)`.
pub(super) fn upstream_functions(statement: &mut datafusion::sql::sqlparser::ast::Statement) {
    let _ = visit_expressions_mut(statement, |e| {
        let Expr::Function(f) = e else { return std::ops::ControlFlow::<()>::Continue(()) };
        let name = match f.name.0.as_slice() {
            [ObjectNamePart::Identifier(id)] if id.quote_style.is_none() => id.value.to_ascii_lowercase(),
            _ => return std::ops::ControlFlow::Continue(()),
        };
        let args: Option<Vec<Expr>> = match &f.args {
            FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => l
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        let rename = |f: &mut datafusion::sql::sqlparser::ast::Function, to: &str| {
            f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(to))]);
        };
        match (name.as_str(), args) {
            ("element_at" | "struct_element", Some(args)) if args.len() == 2 => {
                let mut args = args.into_iter();
                let (root, index) = (args.next().expect("two"), args.next().expect("two"));
                *e = Expr::CompoundFieldAccess {
                    root: Box::new(root),
                    access_chain: vec![AccessExpr::Subscript(Subscript::Index { index })],
                };
            }
            ("size" | "array_size", Some(args)) if args.len() == 1 => rename(f, "cardinality"),
            ("array", Some(_)) => rename(f, "make_array"),
            _ => {}
        }
        std::ops::ControlFlow::Continue(())
    });
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
        ArrayRef, Decimal128Builder, Int32Array, Int32Builder, ListBuilder, MapBuilder, StringArray, StringBuilder,
        StructArray,
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
        assert_eq!(load_text(&s, 0).unwrap(), r#"{1, "x"}"#);

        // LARGEINT elements print whole (39 digits).
        let mut b = ListBuilder::new(Decimal128Builder::new().with_data_type(DataType::Decimal128(38, 0)));
        b.append_value([Some(i128::MAX), Some(-1)]);
        assert_eq!(value_text(&b.finish(), 0).unwrap(), format!("[{}, -1]", i128::MAX));
    }

    #[test]
    fn upstream_function_names() {
        use datafusion::sql::sqlparser::dialect::MySqlDialect;
        use datafusion::sql::sqlparser::parser::Parser;
        let sql = "SELECT element_at(a, 1), struct_element(s, 'f'), SIZE(m), array_size(a), array(1, 2), `size`(x) FROM t";
        let mut st = Parser::parse_sql(&MySqlDialect {}, sql).unwrap().remove(0);
        upstream_functions(&mut st);
        assert_eq!(st.to_string(), "SELECT a[1], s['f'], cardinality(m), cardinality(a), make_array(1, 2), `size`(x) FROM t");
    }
}
