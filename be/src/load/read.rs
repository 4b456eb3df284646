//! Reading a tablet at a version the way its table model reads (upstream's merge on read):
//! rowsets in version order; a DELETE's rowset removes the matching rows of every older
//! version; a UNIQUE table's row replaces the older row of its key, an AGGREGATE table's is
//! folded into it by each value column's aggregation. A DUPLICATE table without deletes is
//! read segment by segment, as written, with the filter applied as rows are built.
//!
//! Merging happens on all the rows of the tablet, so filters run after it: a filter on a
//! value column must see the merged value, not an old one.

use std::collections::HashMap;

use super::filter::RowFilter;
use super::segment::{self, Segment};
use super::types::{Cell, ColKind};
use crate::error::BeError;
use crate::storage::{RowsetMeta, StorageEngine, TabletMeta, TabletSchema};

/// Upstream's hidden columns of a UNIQUE table: a row whose delete sign is 1 deletes its
/// key; with a sequence column, an older version's row wins over a newer one whose
/// sequence value is smaller.
pub const DELETE_SIGN: &str = "__DORIS_DELETE_SIGN__";
pub const SEQUENCE_COL: &str = "__DORIS_SEQUENCE_COL__";

/// A scan's `schema`: the columns to answer, each with the cell a segment lacking it gets.
#[derive(Debug, Clone)]
pub struct Projection {
    pub columns: Vec<ProjectedColumn>,
}

#[derive(Debug, Clone)]
pub struct ProjectedColumn {
    pub name: String,
    pub kind: ColKind,
    /// The default as a cell (NULL without one).
    pub missing: Cell,
}

impl Projection {
    /// `[[name, type, default or null], ...]` (JSON), the FE's scan `schema`.
    pub fn parse(text: &str) -> Result<Projection, String> {
        let raw: Vec<(String, String, Option<String>)> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let columns = raw
            .into_iter()
            .map(|(name, type_, default)| {
                let kind = ColKind::parse(&type_).map_err(|e| format!("column {name}: {e}"))?;
                let missing = match default {
                    Some(d) => kind.parse_text(&d).map_err(|e| format!("default of column {name}: {e}"))?,
                    None => Cell::Null,
                };
                Ok(ProjectedColumn { name, kind, missing })
            })
            .collect::<Result<_, String>>()?;
        Ok(Projection { columns })
    }

    /// A segment's own columns, none missing.
    fn of_segment(columns: &[(String, ColKind)]) -> Projection {
        Projection {
            columns: columns.iter().map(|(name, kind)| ProjectedColumn { name: name.clone(), kind: *kind, missing: Cell::Null }).collect(),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// For each output column, its index in a segment of `columns`, or the cell to use.
    fn pick<'a>(&'a self, columns: &[(String, ColKind)]) -> Vec<Result<usize, &'a Cell>> {
        self.columns
            .iter()
            .map(|c| columns.iter().position(|(n, _)| n.eq_ignore_ascii_case(&c.name)).ok_or(&c.missing))
            .collect()
    }

    fn kinds(&self) -> Vec<(String, ColKind)> {
        self.columns.iter().map(|c| (c.name.clone(), c.kind)).collect()
    }

    /// `row` (a segment's, read with `pick`) projected onto these columns.
    fn project(pick: &[Result<usize, &Cell>], row: Vec<Cell>) -> Vec<Cell> {
        let mut row: Vec<Option<Cell>> = row.into_iter().map(Some).collect();
        pick.iter()
            .map(|src| match src {
                Ok(i) => row[*i].take().unwrap_or(Cell::Null),
                Err(default) => (*default).clone(),
            })
            .collect()
    }
}

/// Where a tablet's segments are read from.
pub struct Source<'a> {
    pub storage: &'a StorageEngine,
    /// Remote (cooled-down) segments are fetched from the object store on this runtime.
    pub runtime: &'a tokio::runtime::Handle,
    pub meta: &'a TabletMeta,
    /// Answer the rows a delete sign removes too (the FE's `show_hidden_columns`).
    pub keep_deleted: bool,
}

/// The answer of a read: the columns and the rows, in the columns' order.
pub type Rows = (Vec<(String, ColKind)>, Vec<Vec<Cell>>);

impl Source<'_> {
    /// The visible rowsets up to `version`, oldest first.
    fn rowsets(&self, version: i64) -> Vec<&RowsetMeta> {
        let mut r: Vec<&RowsetMeta> = self.meta.rowsets.iter().filter(|r| r.end_version <= version).collect();
        r.sort_by_key(|r| (r.start_version, r.end_version));
        r
    }

    /// The rows at `version` projected onto `schema` (without one, the first segment's
    /// columns) that pass `filter`.
    pub fn read(&self, version: i64, schema: Option<Projection>, filter: &RowFilter) -> Result<Rows, BeError> {
        let rowsets = self.rowsets(version);
        let model = Model::of(&self.meta.schema);
        if model == Model::Duplicate && rowsets.iter().all(|r| r.delete_predicate.is_none()) {
            return self.read_as_written(&rowsets, schema, filter);
        }
        self.read_merged(&rowsets, model, schema, filter)
    }

    /// How many rows a read at `version` answers (a COUNT(*) without filters).
    pub fn count(&self, version: i64) -> Result<usize, BeError> {
        let rowsets = self.rowsets(version);
        let model = Model::of(&self.meta.schema);
        if model == Model::Duplicate && rowsets.iter().all(|r| r.delete_predicate.is_none()) {
            return Ok(rowsets.iter().map(|r| r.num_rows).sum::<i64>() as usize);
        }
        let empty = Projection { columns: Vec::new() };
        Ok(self.read_merged(&rowsets, model, Some(empty), &RowFilter::default())?.1.len())
    }

    fn read_as_written(&self, rowsets: &[&RowsetMeta], mut schema: Option<Projection>, filter: &RowFilter) -> Result<Rows, BeError> {
        let mut segments = Segments::new(self);
        let mut rows = Vec::new();
        for rs in rowsets {
            for f in rs.segment_files() {
                let seg = segments.load(rs, &f)?;
                let p = schema.get_or_insert_with(|| Projection::of_segment(&seg.columns));
                let pick = p.pick(&seg.columns);
                for row in seg.rows {
                    let projected = Projection::project(&pick, row);
                    if filter.passes(&projected) {
                        rows.push(projected);
                    }
                }
            }
        }
        Ok((schema.map(|p| p.kinds()).unwrap_or_default(), rows))
    }

    fn read_merged(&self, rowsets: &[&RowsetMeta], model: Model, schema: Option<Projection>, filter: &RowFilter) -> Result<Rows, BeError> {
        let mut segments = Segments::new(self);
        let mut loaded: Vec<(&RowsetMeta, Vec<Segment>)> = Vec::with_capacity(rowsets.len());
        for rs in rowsets {
            let segs = rs.segment_files().iter().map(|f| segments.load(rs, f)).collect::<Result<Vec<_>, _>>()?;
            loaded.push((rs, segs));
        }
        let first_columns = || loaded.iter().flat_map(|(_, s)| s.iter()).map(|s| s.columns.clone()).next().unwrap_or_default();
        let out = schema.unwrap_or_else(|| Projection::of_segment(&first_columns()));
        let width = out.columns.len();

        // The columns merging needs beyond the answer's: keys, hidden columns, and the
        // columns of delete predicates, typed as the segments have them.
        let mut work = out.clone();
        let schema_cols = &self.meta.schema.columns;
        let mut needed: Vec<String> = Vec::new();
        if model != Model::Duplicate {
            needed.extend(schema_cols.iter().filter(|c| c.is_key).map(|c| c.name.clone()));
            needed.extend(schema_cols.iter().filter(|c| c.name == DELETE_SIGN || c.name == SEQUENCE_COL).map(|c| c.name.clone()));
        }
        for (rs, _) in &loaded {
            needed.extend(rs.delete_predicate.iter().flatten().map(|c| c.column.clone()));
        }
        for name in needed {
            if work.position(&name).is_some() {
                continue;
            }
            let kind = loaded
                .iter()
                .flat_map(|(_, s)| s.iter())
                .flat_map(|s| s.columns.iter())
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
                .map(|(_, k)| *k)
                // In no segment: every row has NULL there, whatever its type.
                .unwrap_or(ColKind::Str { max_len: None });
            work.columns.push(ProjectedColumn { name, kind, missing: Cell::Null });
        }
        let work_kinds = work.kinds();

        let mut acc = match model {
            Model::Duplicate => Merge::Rows(Vec::new()),
            Model::Unique | Model::Aggregate => {
                let keys: Vec<usize> =
                    schema_cols.iter().filter(|c| c.is_key).filter_map(|c| work.position(&c.name)).collect();
                let folds: Vec<Fold> = work
                    .columns
                    .iter()
                    .map(|c| match schema_cols.iter().find(|s| s.name.eq_ignore_ascii_case(&c.name)) {
                        Some(s) if s.is_key => Fold::Key,
                        Some(s) if model == Model::Aggregate => Fold::of_aggregation(&s.aggregation),
                        // A UNIQUE table's values, and columns added since the tablet was made.
                        _ => Fold::Replace,
                    })
                    .collect();
                let sequence = (model == Model::Unique).then(|| work.position(SEQUENCE_COL)).flatten();
                Merge::Keyed(Keyed { keys, folds, sequence, index: HashMap::new(), rows: Vec::new() })
            }
        };
        for (rs, segs) in loaded {
            if let Some(conditions) = &rs.delete_predicate {
                let pred = RowFilter::of_conditions(conditions, &work_kinds).map_err(|e| {
                    BeError::Corruption(format!("tablet {} rowset {}: {e}", self.meta.tablet_id, rs.rowset_id))
                })?;
                acc.delete(|row| pred.passes(row));
                continue;
            }
            for seg in segs {
                let pick = work.pick(&seg.columns);
                for row in seg.rows {
                    acc.add(Projection::project(&pick, row));
                }
            }
        }
        let sign = (model == Model::Unique && !self.keep_deleted).then(|| work.position(DELETE_SIGN)).flatten();
        let rows = acc
            .into_rows()
            .filter(|row| sign.is_none_or(|i| !matches!(row[i], Cell::Int(1) | Cell::Bool(true))))
            .filter(|row| filter.passes(&row[..width]))
            .map(|mut row| {
                row.truncate(width);
                row
            })
            .collect();
        Ok((out.kinds(), rows))
    }
}

/// The segments of one read, opening the remote store at the first remote rowset.
struct Segments<'a, 'b> {
    source: &'b Source<'a>,
    remote: Option<crate::cooldown::RemoteStore>,
}

impl<'a, 'b> Segments<'a, 'b> {
    fn new(source: &'b Source<'a>) -> Self {
        Segments { source, remote: None }
    }

    fn load(&mut self, rs: &RowsetMeta, file: &str) -> Result<Segment, BeError> {
        let tablet_id = self.source.meta.tablet_id;
        let (bytes, shown) = if rs.remote {
            if self.remote.is_none() {
                self.remote = Some(crate::cooldown::RemoteStore::of_tablet(self.source.storage, tablet_id)?);
            }
            let store = self.remote.as_ref().expect("just opened");
            (self.source.runtime.block_on(store.segment(tablet_id, file))?, format!("remote {file}"))
        } else {
            let path = self.source.storage.tablet_dir(tablet_id)?.join(file);
            let b = std::fs::read(&path).map_err(|e| BeError::io(path.display().to_string(), e))?;
            (b.into(), path.display().to_string())
        };
        segment::read(bytes).map_err(|e| BeError::Corruption(format!("{shown}: {e}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    Duplicate,
    Unique,
    Aggregate,
}

impl Model {
    fn of(schema: &TabletSchema) -> Model {
        match schema.keys_type.as_str() {
            "UNIQUE_KEYS" | "PRIMARY_KEYS" => Model::Unique,
            "AGG_KEYS" => Model::Aggregate,
            _ => Model::Duplicate,
        }
    }
}

/// How a column of a newer row combines with the kept row of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    Key,
    Replace,
    ReplaceIfNotNull,
    Sum,
    Max,
    Min,
}

impl Fold {
    /// Upstream's aggregation names; the ones over types we do not store (HLL, BITMAP,
    /// QUANTILE) replace.
    fn of_aggregation(name: &str) -> Fold {
        match name {
            "SUM" => Fold::Sum,
            "MAX" => Fold::Max,
            "MIN" => Fold::Min,
            "REPLACE_IF_NOT_NULL" => Fold::ReplaceIfNotNull,
            _ => Fold::Replace,
        }
    }

    fn apply(self, kept: &mut Cell, new: Cell) {
        use std::cmp::Ordering::*;
        match (self, &*kept, &new) {
            (Fold::Key, _, _) => {}
            (Fold::Replace, _, _) => *kept = new,
            (_, _, Cell::Null) => {}
            (_, Cell::Null, _) => *kept = new,
            (Fold::ReplaceIfNotNull, _, _) => *kept = new,
            (Fold::Max, k, n) if n.cmp_same(k) == Greater => *kept = new,
            (Fold::Min, k, n) if n.cmp_same(k) == Less => *kept = new,
            (Fold::Sum, Cell::Int(a), Cell::Int(b)) => *kept = Cell::Int(a.wrapping_add(*b)),
            (Fold::Sum, Cell::Large(a), Cell::Large(b)) => *kept = Cell::Large(a.wrapping_add(*b)),
            (Fold::Sum, Cell::Decimal(a), Cell::Decimal(b)) => *kept = Cell::Decimal(a.wrapping_add(*b)),
            (Fold::Sum, Cell::Float(a), Cell::Float(b)) => *kept = Cell::Float(a + b),
            _ => {}
        }
    }
}

/// Rows merged so far.
enum Merge {
    Rows(Vec<Vec<Cell>>),
    Keyed(Keyed),
}

struct Keyed {
    keys: Vec<usize>,
    folds: Vec<Fold>,
    sequence: Option<usize>,
    /// Encoded key -> its row's slot in `rows`.
    index: HashMap<Vec<u8>, usize>,
    /// A deleted key's slot is None (a later row of the key takes a new slot).
    rows: Vec<Option<Vec<Cell>>>,
}

impl Merge {
    fn add(&mut self, row: Vec<Cell>) {
        let k = match self {
            Merge::Rows(rows) => return rows.push(row),
            Merge::Keyed(k) => k,
        };
        let mut key = Vec::with_capacity(16 * k.keys.len());
        for &i in &k.keys {
            encode_key(&row[i], &mut key);
        }
        let Some(&slot) = k.index.get(&key) else {
            k.index.insert(key, k.rows.len());
            k.rows.push(Some(row));
            return;
        };
        let kept = k.rows[slot].as_mut().expect("indexed slots hold rows");
        if let Some(s) = k.sequence {
            if row[s].cmp_same(&kept[s]) == std::cmp::Ordering::Less {
                return;
            }
        }
        for ((cell, new), fold) in kept.iter_mut().zip(row).zip(&k.folds) {
            fold.apply(cell, new);
        }
    }

    fn delete(&mut self, gone: impl Fn(&[Cell]) -> bool) {
        match self {
            Merge::Rows(rows) => rows.retain(|r| !gone(r)),
            Merge::Keyed(k) => {
                let rows = &mut k.rows;
                k.index.retain(|_, slot| {
                    let hit = rows[*slot].as_deref().is_some_and(&gone);
                    if hit {
                        rows[*slot] = None;
                    }
                    !hit
                });
            }
        }
    }

    fn into_rows(self) -> Box<dyn Iterator<Item = Vec<Cell>>> {
        match self {
            Merge::Rows(rows) => Box::new(rows.into_iter()),
            Merge::Keyed(k) => Box::new(k.rows.into_iter().flatten()),
        }
    }
}

/// A cell's bytes in a key: a tag, then the value (strings length-prefixed, so keys of
/// several columns cannot run into each other).
fn encode_key(cell: &Cell, out: &mut Vec<u8>) {
    match cell {
        Cell::Null => out.push(0),
        Cell::Bool(b) => out.extend([1, *b as u8]),
        Cell::Int(v) => {
            out.push(2);
            out.extend(v.to_le_bytes());
        }
        Cell::Large(v) => {
            out.push(3);
            out.extend(v.to_le_bytes());
        }
        Cell::Float(v) => {
            out.push(4);
            out.extend(v.to_bits().to_le_bytes());
        }
        Cell::Decimal(v) => {
            out.push(5);
            out.extend(v.to_le_bytes());
        }
        Cell::Date(v) => {
            out.push(6);
            out.extend(v.to_le_bytes());
        }
        Cell::DateTime(v) => {
            out.push(7);
            out.extend(v.to_le_bytes());
        }
        Cell::Str(s) => {
            out.push(8);
            out.extend((s.len() as u32).to_le_bytes());
            out.extend(s.as_bytes());
        }
        // Never a key column upstream; keyed by the stored form all the same.
        Cell::Array(_) | Cell::Map(_) | Cell::Struct(_) => {
            let text = super::complex::to_stored(cell).to_string();
            out.push(9);
            out.extend((text.len() as u32).to_le_bytes());
            out.extend(text.as_bytes());
        }
    }
}
