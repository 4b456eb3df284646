//! Column expressions and the `where` filter of a stream load (upstream's `columns:
//! k, tmp, v = tmp * 2` and `where: k > 1`), evaluated by Apache DataFusion on Arrow
//! batches of the file's fields.
//!
//! The file's columns (`k`, `tmp`) are the plain names of `columns`; `name = expr` items
//! compute table column `name` from them. A file column named like a table column has that
//! column's type (a field that does not fit it filters its row, as without expressions);
//! any other is text. Where text meets a number in an expression (`tmp * 2`, `tmp > 1`)
//! the text is read as a DOUBLE, as upstream casts VARCHAR. A computed value is cast to its
//! column's type, then checked like a file's field. `where` is evaluated on the table's
//! columns after the computation (and on the file's other columns); a row for which it is
//! not true is unselected: counted in NumberUnselectedRows, neither loaded nor filtered.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Decimal128Builder, Float64Builder, Int64Builder, StringArray,
    StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::DFSchema;
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Operator};
use datafusion::prelude::SessionContext;

use super::csv::{LoadColumn, Parsed, RowBuilder};
use super::types::{Cell, ColKind};

/// The `columns` header: the file's columns, and the computed ones (`name = expr`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnsSpec {
    pub sources: Vec<String>,
    pub derived: Vec<(String, String)>,
}

/// Split `text` on `sep` outside parentheses and quotes.
fn split_top(text: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut cur) = (0i32, None::<char>, String::new());
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, c) if c == sep && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

/// The `=` of `name = expr`: the first one not part of `<=`, `>=`, `!=`, `==`, `<=>`.
fn assignment(item: &str) -> Option<(String, String)> {
    let b = item.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'=' {
            let prev = i.checked_sub(1).map(|j| b[j]);
            let next = b.get(i + 1).copied();
            if matches!(prev, Some(b'<' | b'>' | b'!' | b'=')) || next == Some(b'=') || next == Some(b'>') {
                return None;
            }
            return Some((item[..i].trim().trim_matches('`').to_string(), item[i + 1..].trim().to_string()));
        }
        if c == b'(' || c == b'\'' || c == b'"' {
            return None;
        }
    }
    None
}

impl ColumnsSpec {
    pub fn parse(text: &str) -> Result<ColumnsSpec, String> {
        let mut spec = ColumnsSpec::default();
        for item in split_top(text, ',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match assignment(item) {
                Some((name, expr)) => {
                    if name.is_empty() || expr.is_empty() {
                        return Err(format!("invalid columns item '{item}': expected name or name = expression"));
                    }
                    spec.derived.push((name, expr));
                }
                None => {
                    let name = item.trim_matches('`');
                    if name.chars().any(|c| !(c.is_alphanumeric() || c == '_' || c == '-')) {
                        return Err(format!("invalid columns item '{item}': expected name or name = expression"));
                    }
                    spec.sources.push(name.to_string());
                }
            }
        }
        Ok(spec)
    }
}

/// A row that passed the typed file columns: their cells, the fields, the source line.
type Kept = (Vec<Option<Cell>>, Vec<Option<String>>, String);

fn find<'t>(table: &'t [LoadColumn], name: &str) -> Option<&'t LoadColumn> {
    table.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The Arrow type a column's values are computed in.
fn arrow_type(kind: &ColKind) -> DataType {
    match kind {
        ColKind::TinyInt | ColKind::SmallInt | ColKind::Int | ColKind::BigInt => DataType::Int64,
        ColKind::Float | ColKind::Double => DataType::Float64,
        ColKind::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
        ColKind::Bool => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// One file column as an Arrow array in `ty`, from the kept rows' cells or texts.
fn build_array(ty: &DataType, values: impl Iterator<Item = (Option<Cell>, Option<String>)>) -> Result<ArrayRef, String> {
    Ok(match ty {
        DataType::Int64 => {
            let mut b = Int64Builder::new();
            for (c, _) in values {
                b.append_option(match c {
                    Some(Cell::Int(v)) => Some(v),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::new();
            for (c, _) in values {
                b.append_option(match c {
                    Some(Cell::Float(v)) => Some(v),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        DataType::Decimal128(p, s) => {
            let mut b = Decimal128Builder::new();
            for (c, _) in values {
                b.append_option(match c {
                    Some(Cell::Decimal(v)) => Some(v),
                    _ => None,
                });
            }
            Arc::new(b.finish().with_precision_and_scale(*p, *s).map_err(|e| e.to_string())?)
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::new();
            for (c, _) in values {
                b.append_option(match c {
                    Some(Cell::Bool(v)) => Some(v),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        _ => {
            let mut b = StringBuilder::new();
            for (_, t) in values {
                b.append_option(t);
            }
            Arc::new(b.finish())
        }
    })
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Text meeting a number in arithmetic or a comparison is read as a DOUBLE.
fn text_as_double(expr: Expr, schema: &DFSchema) -> Result<Expr, String> {
    let out = expr
        .transform_up(|e| {
            let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &e else { return Ok(Transformed::no(e)) };
            let arith_or_cmp = matches!(
                op,
                Operator::Plus
                    | Operator::Minus
                    | Operator::Multiply
                    | Operator::Divide
                    | Operator::Modulo
                    | Operator::Eq
                    | Operator::NotEq
                    | Operator::Lt
                    | Operator::LtEq
                    | Operator::Gt
                    | Operator::GtEq
            );
            if !arith_or_cmp {
                return Ok(Transformed::no(e));
            }
            let (lt, rt) = (left.get_type(schema)?, right.get_type(schema)?);
            let arith = !matches!(op, Operator::Eq | Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq);
            let widen = |side: &Expr, t: &DataType, other: &DataType| {
                if is_text(t) && (is_numeric(other) || (arith && is_text(other))) {
                    datafusion::logical_expr::try_cast(side.clone(), DataType::Float64)
                } else {
                    side.clone()
                }
            };
            let (l, r) = (widen(left, &lt, &rt), widen(right, &rt, &lt));
            Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(Box::new(l), *op, Box::new(r)))))
        })
        .map_err(|e| e.to_string())?;
    Ok(out.data)
}

fn evaluate(ctx: &SessionContext, schema: &DFSchema, batch: &RecordBatch, sql: &str, what: &str) -> Result<ArrayRef, String> {
    let fail = |e: String| format!("{what} `{sql}`: {e}");
    let expr = ctx.parse_sql_expr(sql, schema).map_err(|e| fail(e.to_string()))?;
    let expr = text_as_double(expr, schema).map_err(fail)?;
    let phys = ctx.create_physical_expr(expr, schema).map_err(|e| fail(e.to_string()))?;
    let v = phys.evaluate(batch).map_err(|e| fail(e.to_string()))?;
    v.into_array(batch.num_rows()).map_err(|e| fail(e.to_string()))
}

/// An array as the texts a column parses (None for NULL). A computed value is first cast
/// to the column's type (a value that cannot be becomes NULL, which a NOT NULL column
/// then refuses).
fn texts(a: &ArrayRef, kind: &ColKind) -> Result<Vec<Option<String>>, String> {
    let typed = if is_text(a.data_type()) { a.clone() } else { cast(a, &arrow_type(kind)).map_err(|e| e.to_string())? };
    let strings = cast(&typed, &DataType::Utf8).map_err(|e| e.to_string())?;
    let s = strings.as_any().downcast_ref::<StringArray>().ok_or("cast to text failed")?;
    let datetime = matches!(kind, ColKind::DateTime { .. });
    Ok((0..s.len())
        .map(|i| {
            s.is_valid(i).then(|| {
                let v = s.value(i);
                // Arrow writes timestamps ISO style (`T`); the column reads `YYYY-MM-DD hh:mm:ss`.
                if datetime { v.replacen('T', " ", 1) } else { v.to_string() }
            })
        })
        .collect())
}

/// Rows of `raw` (each its file fields and source line) through `spec`'s expressions and
/// `filter`, into `out` in table column order. `raw` rows are already counted in
/// `out.total`.
pub fn apply(
    raw: Vec<(Vec<Option<String>>, String)>,
    table: &[LoadColumn],
    spec: &ColumnsSpec,
    filter: Option<&str>,
    out: &mut Parsed,
) -> Result<(), String> {
    let sources: Vec<String> = if spec.sources.is_empty() { table.iter().map(|c| c.name.clone()).collect() } else { spec.sources.clone() };
    for (name, _) in &spec.derived {
        if find(table, name).is_none() {
            return Err(format!("Unknown column '{name}' in table"));
        }
    }
    // The file's columns, typed like their table column where they name one.
    let src_types: Vec<(Option<&LoadColumn>, DataType)> = sources
        .iter()
        .map(|s| {
            let col = find(table, s);
            (col, col.map(|c| arrow_type(&c.kind)).unwrap_or(DataType::Utf8))
        })
        .collect();
    // Rows whose typed fields parse; the others are filtered here with their reason.
    let mut kept: Vec<Kept> = Vec::with_capacity(raw.len());
    'rows: for (fields, src) in raw {
        let mut cells = Vec::with_capacity(fields.len());
        for ((col, ty), f) in src_types.iter().zip(&fields) {
            let cell = match (col, f) {
                (Some(c), Some(text)) if *ty != DataType::Utf8 => match c.kind.parse_text(text) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        out.filtered += 1;
                        super::csv::note_error(out, &format!("column {}: {e}", c.name), &src);
                        continue 'rows;
                    }
                },
                _ => None,
            };
            cells.push(cell);
        }
        kept.push((cells, fields, src));
    }
    let n = kept.len();
    let mut fields_out: Vec<Field> = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (i, (name, (_, ty))) in sources.iter().zip(&src_types).enumerate() {
        let values = kept.iter().map(|(cells, texts, _)| (cells[i].clone(), texts[i].clone()));
        arrays.push(build_array(ty, values)?);
        fields_out.push(Field::new(name.to_ascii_lowercase(), ty.clone(), true));
    }
    let schema = Arc::new(Schema::new(fields_out.clone()));
    let batch = RecordBatch::try_new_with_options(
        schema.clone(),
        arrays.clone(),
        &datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(n)),
    )
    .map_err(|e| e.to_string())?;
    let df_schema = DFSchema::try_from(schema.as_ref().clone()).map_err(|e| e.to_string())?;
    let ctx = SessionContext::new();

    // The table's columns: computed, or a file column of that name, or (neither) their
    // default, which the row builder supplies.
    let mut cols: Vec<String> = Vec::new();
    let mut col_texts: Vec<Vec<Option<String>>> = Vec::new();
    let mut where_fields = Vec::new();
    let mut where_arrays = Vec::new();
    for c in table {
        if let Some((_, sql)) = spec.derived.iter().find(|(name, _)| name.eq_ignore_ascii_case(&c.name)) {
            let a = evaluate(&ctx, &df_schema, &batch, sql, &format!("columns expression for {}", c.name))?;
            cols.push(c.name.clone());
            col_texts.push(texts(&a, &c.kind)?);
            let typed = if is_text(a.data_type()) { a.clone() } else { cast(&a, &arrow_type(&c.kind)).map_err(|e| e.to_string())? };
            where_fields.push(Field::new(c.name.to_ascii_lowercase(), typed.data_type().clone(), true));
            where_arrays.push(typed);
        } else if let Some(i) = sources.iter().position(|s| s.eq_ignore_ascii_case(&c.name)) {
            cols.push(c.name.clone());
            col_texts.push(kept.iter().map(|(_, t, _)| t[i].clone()).collect());
        }
    }
    // `where` sees the computed columns and every file column not shadowed by one.
    let selected: Option<BooleanArray> = match filter {
        None => None,
        Some(sql) => {
            for (f, a) in fields_out.iter().zip(&arrays) {
                if !where_fields.iter().any(|w: &Field| w.name() == f.name()) {
                    where_fields.push(f.clone());
                    where_arrays.push(a.clone());
                }
            }
            let wschema = Arc::new(Schema::new(where_fields));
            let wbatch = RecordBatch::try_new_with_options(
                wschema.clone(),
                where_arrays,
                &datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(n)),
            )
            .map_err(|e| e.to_string())?;
            let wdf = DFSchema::try_from(wschema.as_ref().clone()).map_err(|e| e.to_string())?;
            let a = evaluate(&ctx, &wdf, &wbatch, sql, "where")?;
            let b = a.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| format!("where `{sql}` is not a condition"))?;
            Some(b.clone())
        }
    };
    let rows = RowBuilder::new(table, &cols)?;
    for (r, (_, _, src)) in kept.iter().enumerate() {
        if let Some(sel) = &selected {
            if !(sel.is_valid(r) && sel.value(r)) {
                out.unselected += 1;
                continue;
            }
        }
        let fields: Vec<Option<&str>> = col_texts.iter().map(|t| t[r].as_deref()).collect();
        rows.build(out, &fields, src);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<LoadColumn> {
        vec![
            LoadColumn { name: "k".into(), kind: ColKind::Int, nullable: false, default_value: None },
            LoadColumn { name: "v".into(), kind: ColKind::BigInt, nullable: true, default_value: None },
            LoadColumn { name: "s".into(), kind: ColKind::Str { max_len: Some(8) }, nullable: true, default_value: Some("d".into()) },
        ]
    }

    fn raw(rows: &[&[Option<&str>]]) -> Vec<(Vec<Option<String>>, String)> {
        rows.iter().map(|r| (r.iter().map(|f| f.map(str::to_string)).collect(), format!("{r:?}"))).collect()
    }

    #[test]
    fn columns_header_parses_sources_and_expressions() {
        let s = ColumnsSpec::parse("k, tmp, `v` = tmp * 2, s = concat(tmp, ',', 'x=y'), w = k >= 1").unwrap();
        assert_eq!(s.sources, vec!["k", "tmp"]);
        assert_eq!(
            s.derived,
            vec![
                ("v".to_string(), "tmp * 2".to_string()),
                ("s".to_string(), "concat(tmp, ',', 'x=y')".to_string()),
                ("w".to_string(), "k >= 1".to_string())
            ]
        );
        assert!(ColumnsSpec::parse("k, = 1").is_err());
        assert!(ColumnsSpec::parse("k, a b").is_err());
    }

    #[test]
    fn expressions_and_where() {
        let t = table();
        let spec = ColumnsSpec::parse("k, tmp, v = tmp * 2").unwrap();
        let mut out = Parsed::default();
        let r = raw(&[&[Some("1"), Some("3")], &[Some("2"), Some("x")], &[Some("x"), Some("1")], &[Some("4"), None]]);
        out.total = r.len() as u64;
        apply(r, &t, &spec, Some("k > 1"), &mut out).unwrap();
        // k=1 unselected; k=x filtered; tmp='x' reads as no number and tmp NULL is NULL:
        // v NULL; s takes its default.
        assert_eq!((out.filtered, out.unselected), (1, 1), "{:?}", out.errors);
        let d = || Cell::Str("d".into());
        assert_eq!(out.rows, vec![vec![Cell::Int(2), Cell::Null, d()], vec![Cell::Int(4), Cell::Null, d()]]);
        assert!(out.errors[0].starts_with("Reason: column k: "), "{:?}", out.errors);
        // A condition that is NULL (text that is no number) does not select the row.
        let mut out = Parsed::default();
        let r = raw(&[&[Some("1"), Some("x")], &[Some("2"), Some("8")]]);
        apply(r, &t, &spec, Some("tmp <> 9"), &mut out).unwrap();
        assert_eq!(out.unselected, 1);
        assert_eq!(out.rows, vec![vec![Cell::Int(2), Cell::Int(16), d()]]);

        let mut out = Parsed::default();
        let spec = ColumnsSpec::parse("k, tmp, v = tmp * 2, s = concat('a', tmp)").unwrap();
        apply(raw(&[&[Some("5"), Some("21")]]), &t, &spec, None, &mut out).unwrap();
        assert_eq!(out.rows, vec![vec![Cell::Int(5), Cell::Int(42), Cell::Str("a21".into())]]);

        let e = apply(raw(&[&[Some("5"), Some("1")]]), &t, &ColumnsSpec::parse("k, tmp, v = nope + 1").unwrap(), None, &mut Parsed::default())
            .unwrap_err();
        assert!(e.starts_with("columns expression for v `nope + 1`: "), "{e}");
        let e = apply(raw(&[&[Some("5"), Some("1")]]), &t, &ColumnsSpec::parse("k, tmp, zz = tmp").unwrap(), None, &mut Parsed::default())
            .unwrap_err();
        assert_eq!(e, "Unknown column 'zz' in table");
    }
}
