//! Database and table DDL, and the SHOW statements about one table.

use sqlparser::tokenizer::Token;

use super::ast::*;
use super::parser::{PResult, Parser};
use crate::error::FeError;

pub(super) fn parse_create_database(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("CREATE")?;
    if !(p.eat_kw("DATABASE") || p.eat_kw("SCHEMA")) {
        return Err(p.unexpected("DATABASE"));
    }
    let if_not_exists = p.eat_kws(&["IF", "NOT", "EXISTS"]);
    let name = p.ident("database name")?;
    let properties = p.opt_properties()?;
    Ok(Statement::CreateDatabase { name, if_not_exists, properties })
}

pub(super) fn parse_drop_database(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("DROP")?;
    if !(p.eat_kw("DATABASE") || p.eat_kw("SCHEMA")) {
        return Err(p.unexpected("DATABASE"));
    }
    let if_exists = p.eat_kws(&["IF", "EXISTS"]);
    let name = p.ident("database name")?;
    let force = p.eat_kw("FORCE");
    Ok(Statement::DropDatabase { name, if_exists, force })
}

pub(super) fn parse_drop_table(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["DROP", "TABLE"])?;
    let if_exists = p.eat_kws(&["IF", "EXISTS"]);
    let table = p.table_name()?;
    let force = p.eat_kw("FORCE");
    Ok(Statement::DropTable { table, if_exists, force })
}

/// `ALTER TABLE [db.]t SET ("k" = "v", ...)`, `... ADD PARTITION ...`, `... DROP PARTITION
/// ...`, `... RENAME new`; other ALTER TABLE forms are not supported.
pub(super) fn parse_alter_table(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["ALTER", "TABLE"])?;
    let table = p.table_name()?;
    if p.eat_kw("SET") {
        return Ok(Statement::AlterTableSet { table, properties: p.property_list()? });
    }
    if p.peek_kw("ADD") && (p.peek_kw_nth(1, "PARTITION") || p.peek_kw_nth(1, "TEMPORARY")) {
        p.next();
        return add_partition(p, table);
    }
    if p.peek_kw("ADD") && p.peek_kw_nth(1, "COLUMN") {
        p.next();
        p.next();
        let columns = if p.eat(&Token::LParen) {
            let mut cols = vec![column_def(p)?];
            while p.eat(&Token::Comma) {
                cols.push(column_def(p)?);
            }
            p.expect(&Token::RParen)?;
            cols
        } else {
            vec![column_def(p)?]
        };
        let position = if p.eat_kw("AFTER") {
            ColumnPosition::After(p.ident("column name")?)
        } else if p.eat_kw("FIRST") {
            ColumnPosition::First
        } else {
            ColumnPosition::Last
        };
        return Ok(Statement::AlterColumns { table, change: ColumnChange::Add { columns, position } });
    }
    if p.peek_kw("DROP") && p.peek_kw_nth(1, "COLUMN") {
        p.next();
        p.next();
        let name = p.ident("column name")?;
        return Ok(Statement::AlterColumns { table, change: ColumnChange::Drop { name } });
    }
    if p.eat_kw("RENAME") {
        return Ok(Statement::RenameTable { table, new_name: p.ident("new table name")? });
    }
    if p.peek_kw("DROP") && (p.peek_kw_nth(1, "PARTITION") || p.peek_kw_nth(1, "TEMPORARY")) {
        p.next();
        let temporary = p.eat_kw("TEMPORARY");
        p.expect_kw("PARTITION")?;
        let if_exists = p.eat_kws(&["IF", "EXISTS"]);
        let name = p.ident("partition name")?;
        let force = p.eat_kw("FORCE");
        return Ok(Statement::DropPartition { table, temporary, name, if_exists, force });
    }
    Err(p.not_supported())
}

/// After `ALTER TABLE t ADD`: `[TEMPORARY] PARTITION [IF NOT EXISTS] p VALUES ... [(props)]
/// [DISTRIBUTED BY ...]`. `VALUES IN` makes a list partition, the other forms a range one.
fn add_partition(p: &mut Parser, table: TableName) -> PResult<Statement> {
    let temporary = p.eat_kw("TEMPORARY");
    // PARTITION [IF NOT EXISTS] name VALUES <here>
    let if_not_exists = p.peek_kw_nth(1, "IF");
    let values_at = if if_not_exists { 5 } else { 2 };
    let partition = if p.peek_kw_nth(values_at + 1, "IN") {
        NewPartitionDef::List(list_partition(p)?)
    } else {
        NewPartitionDef::Range(range_partition(p)?)
    };
    let distribution = if p.eat_kws(&["DISTRIBUTED", "BY"]) { Some(distribution(p)?) } else { None };
    Ok(Statement::AddPartition(Box::new(AddPartitionStmt { table, temporary, if_not_exists, partition, distribution })))
}

/// `TRUNCATE TABLE [db.]t [PARTITION[S] (p1, ...)]`.
pub(super) fn parse_truncate(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("TRUNCATE")?;
    p.eat_kw("TABLE");
    let table = p.table_name()?;
    let partitions = if p.eat_kw("PARTITION") || p.eat_kw("PARTITIONS") { p.ident_list("partition name")? } else { Vec::new() };
    Ok(Statement::TruncateTable { table, partitions })
}

/// `ALTER DATABASE db SET PROPERTIES ("k" = "v", ...)`.
pub(super) fn parse_alter_database(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("ALTER")?;
    if !(p.eat_kw("DATABASE") || p.eat_kw("SCHEMA")) {
        return Err(p.unexpected("DATABASE"));
    }
    let name = p.ident("database name")?;
    if !p.peek_kw_nth(0, "SET") {
        return Err(p.not_supported());
    }
    p.expect_kws(&["SET", "PROPERTIES"])?;
    Ok(Statement::AlterDatabaseSet { name, properties: p.property_list()? })
}

pub(super) fn parse_show_create_table(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["CREATE", "TABLE"])?;
    Ok(Statement::ShowCreateTable { table: p.table_name()? })
}

pub(super) fn parse_show_partitions(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("PARTITIONS")?;
    if !(p.eat_kw("FROM") || p.eat_kw("IN")) {
        return Err(p.unexpected("FROM"));
    }
    Ok(Statement::ShowPartitions { table: p.table_name()? })
}

pub(super) fn parse_show_tablets(p: &mut Parser) -> PResult<Statement> {
    if !(p.eat_kw("TABLETS") || p.eat_kw("TABLET")) {
        return Err(p.unexpected("TABLETS"));
    }
    p.expect_kw("FROM")?;
    Ok(Statement::ShowTablets { table: p.table_name()? })
}

pub(super) fn parse_create_table(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["CREATE", "TABLE"])?;
    let if_not_exists = p.eat_kws(&["IF", "NOT", "EXISTS"]);
    let name = p.table_name()?;
    if p.peek_kw("LIKE") || p.peek_kw("AS") {
        return Err(p.not_supported());
    }
    p.expect(&Token::LParen)?;
    let mut columns = Vec::new();
    loop {
        if p.peek_kw("INDEX") {
            return Err(FeError::NotSupported("CREATE TABLE with INDEX".into()));
        }
        columns.push(column_def(p)?);
        if !p.eat(&Token::Comma) {
            break;
        }
    }
    p.expect(&Token::RParen)?;

    let mut engine = None;
    if p.eat_kw("ENGINE") {
        p.expect(&Token::Eq)?;
        let e = p.ident("engine name")?;
        if !e.eq_ignore_ascii_case("OLAP") {
            return Err(FeError::NotSupported(format!("ENGINE={e}")));
        }
        engine = Some(e);
    }

    let keys = keys_desc(p)?;
    let comment = if p.eat_kw("COMMENT") { Some(p.string("comment")?) } else { None };

    let partition = if p.peek_kw("AUTO") {
        return Err(FeError::NotSupported("AUTO PARTITION".into()));
    } else if p.eat_kws(&["PARTITION", "BY"]) {
        Some(partition_desc(p)?)
    } else {
        None
    };

    p.expect_kws(&["DISTRIBUTED", "BY"])?;
    let distribution = distribution(p)?;
    if p.peek_kw("ROLLUP") {
        return Err(FeError::NotSupported("CREATE TABLE with ROLLUP".into()));
    }
    let properties = p.opt_properties()?;

    Ok(Statement::CreateTable(Box::new(CreateTable {
        name,
        if_not_exists,
        columns,
        engine,
        keys,
        comment,
        partition,
        distribution,
        properties,
    })))
}

fn keys_desc(p: &mut Parser) -> PResult<Option<KeysDesc>> {
    let keys_type = if p.peek_kw_nth(1, "KEY") {
        match p.peek_word_upper().as_deref() {
            Some("DUPLICATE") => KeysType::Duplicate,
            Some("UNIQUE") => KeysType::Unique,
            Some("AGGREGATE") => KeysType::Aggregate,
            _ => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    p.next();
    p.next();
    let columns = p.ident_list("key column")?;
    Ok(Some(KeysDesc { keys_type, columns }))
}

fn column_def(p: &mut Parser) -> PResult<ColumnDef> {
    let name = p.ident("column name")?;
    let data_type = data_type(p)?;
    let mut col = ColumnDef {
        name,
        data_type,
        nullable: true,
        is_key: false,
        aggregation: None,
        default: None,
        comment: None,
        auto_increment: None,
    };
    loop {
        if p.eat_kws(&["NOT", "NULL"]) {
            col.nullable = false;
        } else if p.eat_kw("NULL") {
            col.nullable = true;
        } else if p.eat_kw("KEY") {
            col.is_key = true;
        } else if p.eat_kw("DEFAULT") {
            col.default = Some(default_value(p)?);
        } else if p.eat_kw("COMMENT") {
            col.comment = Some(p.string("comment")?);
        } else if let Some(agg) = aggregation(p) {
            if col.aggregation.is_some() {
                return Err(p.error_here("more than one aggregation type".into()));
            }
            col.aggregation = Some(agg);
        } else if matches!(p.peek(), Some(Token::Comma) | Some(Token::RParen))
            || p.at_end()
            || p.peek_kw("AFTER")
            || p.peek_kw("FIRST")
        {
            return Ok(col);
        } else if p.eat_kw("AUTO_INCREMENT") {
            // `AUTO_INCREMENT(start)`; a negative start is the catalog's to refuse.
            let mut start = 1i64;
            if p.eat(&Token::LParen) {
                let negative = p.eat(&Token::Minus);
                let at = p.mark();
                let v = p.u64("start value")?;
                let v = i64::try_from(v).map_err(|_| p.error_at(at, format!("start value {v} is out of range")))?;
                start = if negative { -v } else { v };
                p.expect(&Token::RParen)?;
            }
            col.auto_increment = Some(start);
        } else if p.peek_kw("ON") {
            let what = p.peek().map(|t| t.to_string()).unwrap_or_default();
            return Err(FeError::NotSupported(format!("column option {what}")));
        } else {
            return Err(p.unexpected("column option, ',' or ')'"));
        }
    }
}

fn aggregation(p: &mut Parser) -> Option<AggregationType> {
    let agg = match p.peek_word_upper()?.as_str() {
        "SUM" => AggregationType::Sum,
        "MAX" => AggregationType::Max,
        "MIN" => AggregationType::Min,
        "REPLACE" => AggregationType::Replace,
        "REPLACE_IF_NOT_NULL" => AggregationType::ReplaceIfNotNull,
        _ => return None,
    };
    p.next();
    Some(agg)
}

fn default_value(p: &mut Parser) -> PResult<DefaultValue> {
    if p.eat_kw("NULL") {
        return Ok(DefaultValue::Null);
    }
    if p.eat_kw("CURRENT_TIMESTAMP") {
        // Optional precision: CURRENT_TIMESTAMP(3).
        if p.eat(&Token::LParen) {
            p.u64("precision")?;
            p.expect(&Token::RParen)?;
        }
        return Ok(DefaultValue::CurrentTimestamp);
    }
    let negative = p.eat(&Token::Minus);
    match p.peek().cloned() {
        Some(Token::Number(n, _)) => {
            p.next();
            Ok(DefaultValue::Value(if negative { format!("-{n}") } else { n }))
        }
        _ if negative => Err(p.unexpected("number")),
        _ => Ok(DefaultValue::Value(p.string("default value")?)),
    }
}

/// `(n)` when present.
fn opt_len(p: &mut Parser, what: &str) -> PResult<Option<u64>> {
    if p.eat(&Token::LParen) {
        let n = p.u64(what)?;
        p.expect(&Token::RParen)?;
        Ok(Some(n))
    } else {
        Ok(None)
    }
}

fn data_type(p: &mut Parser) -> PResult<DataType> {
    let Some(word) = p.peek_word_upper() else {
        return Err(p.unexpected("column type"));
    };
    let at = p.mark();
    p.next();
    let t = match word.as_str() {
        "BOOLEAN" | "BOOL" => DataType::Boolean,
        "TINYINT" | "SMALLINT" | "INT" | "INTEGER" | "BIGINT" => {
            // MySQL display width, e.g. INT(11): accepted and meaningless.
            opt_len(p, "display width")?;
            match word.as_str() {
                "TINYINT" => DataType::TinyInt,
                "SMALLINT" => DataType::SmallInt,
                "BIGINT" => DataType::BigInt,
                _ => DataType::Int,
            }
        }
        "LARGEINT" => DataType::LargeInt,
        "FLOAT" => DataType::Float,
        "DOUBLE" => DataType::Double,
        "DATE" => DataType::Date,
        "DATEV2" => DataType::DateV2,
        "DATETIME" | "DATETIMEV2" => {
            let scale = opt_len(p, "datetime precision")?.unwrap_or(0);
            if scale > 6 {
                return Err(p.error_at(at, format!("datetime precision {scale} is out of range 0..6")));
            }
            match (word.as_str(), scale) {
                ("DATETIME", 0) => DataType::DateTime,
                _ => DataType::DateTimeV2 { scale: scale as u8 },
            }
        }
        "DECIMAL" | "DECIMALV3" | "NUMERIC" => {
            // Doris' default decimal is (9, 0).
            let (mut precision, mut scale) = (9u64, 0u64);
            if p.eat(&Token::LParen) {
                precision = p.u64("decimal precision")?;
                if p.eat(&Token::Comma) {
                    scale = p.u64("decimal scale")?;
                }
                p.expect(&Token::RParen)?;
            }
            // DECIMAL is DECIMALV3 since upstream 1.2 (enable_decimal_conversion).
            let max = 38;
            if precision == 0 || precision > max {
                return Err(p.error_at(at, format!("{word} precision {precision} is out of range 1..{max}")));
            }
            if scale > precision {
                return Err(p.error_at(at, format!("{word} scale {scale} is larger than precision {precision}")));
            }
            let (precision, scale) = (precision as u8, scale as u8);
            if word == "DECIMAL" || word == "NUMERIC" {
                DataType::Decimal { precision, scale }
            } else {
                DataType::DecimalV3 { precision, scale }
            }
        }
        "CHAR" => {
            let n = opt_len(p, "char length")?.unwrap_or(1);
            if n == 0 || n > 255 {
                return Err(p.error_at(at, format!("char length {n} is out of range 1..255")));
            }
            DataType::Char(n as u32)
        }
        "VARCHAR" => {
            // Doris accepts VARCHAR without a length as its maximum.
            let n = opt_len(p, "varchar length")?.unwrap_or(65533);
            if n == 0 || n > 65533 {
                return Err(p.error_at(at, format!("varchar length {n} is out of range 1..65533")));
            }
            DataType::Varchar(n as u32)
        }
        // TEXT is upstream's alias of STRING.
        "STRING" | "TEXT" => DataType::String,
        "JSON" | "JSONB" => DataType::Json,
        "ARRAY" => {
            p.expect(&Token::Lt)?;
            let item = data_type(p)?;
            p.expect_gt()?;
            DataType::Array(Box::new(item))
        }
        "MAP" => {
            p.expect(&Token::Lt)?;
            let key = data_type(p)?;
            p.expect(&Token::Comma)?;
            let value = data_type(p)?;
            p.expect_gt()?;
            DataType::Map(Box::new(key), Box::new(value))
        }
        "STRUCT" => {
            p.expect(&Token::Lt)?;
            let mut fields: Vec<(String, DataType)> = Vec::new();
            loop {
                let name = p.ident("struct field name")?;
                if fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                    return Err(p.error_at(at, format!("Duplicate field name {name} in struct {word}")));
                }
                // `name:TYPE` (upstream's spelling) or `name TYPE`.
                p.eat(&Token::Colon);
                let t = data_type(p)?;
                // A field's COMMENT is accepted and not kept.
                if p.eat_kw("COMMENT") {
                    p.string("field comment")?;
                }
                fields.push((name, t));
                if !p.eat(&Token::Comma) {
                    break;
                }
            }
            p.expect_gt()?;
            DataType::Struct(fields)
        }
        _ => return Err(FeError::NotSupported(format!("column type {word}"))),
    };
    Ok(t)
}

fn partition_desc(p: &mut Parser) -> PResult<PartitionDesc> {
    if p.eat_kw("RANGE") {
        let columns = p.ident_list("partition column")?;
        p.expect(&Token::LParen)?;
        let mut partitions = Vec::new();
        if !p.eat(&Token::RParen) {
            loop {
                partitions.push(range_partition(p)?);
                if !p.eat(&Token::Comma) {
                    break;
                }
            }
            p.expect(&Token::RParen)?;
        }
        Ok(PartitionDesc::Range { columns, partitions })
    } else if p.eat_kw("LIST") {
        let columns = p.ident_list("partition column")?;
        p.expect(&Token::LParen)?;
        let mut partitions = Vec::new();
        if !p.eat(&Token::RParen) {
            loop {
                partitions.push(list_partition(p)?);
                if !p.eat(&Token::Comma) {
                    break;
                }
            }
            p.expect(&Token::RParen)?;
        }
        Ok(PartitionDesc::List { columns, partitions })
    } else {
        Err(p.unexpected("RANGE or LIST"))
    }
}

fn partition_head(p: &mut Parser) -> PResult<String> {
    p.expect_kw("PARTITION")?;
    p.eat_kws(&["IF", "NOT", "EXISTS"]);
    let name = p.ident("partition name")?;
    p.expect_kw("VALUES")?;
    Ok(name)
}

/// Per-partition `("k" = "v", ...)` after the bound, when present.
fn partition_properties(p: &mut Parser) -> PResult<Properties> {
    if p.peek() == Some(&Token::LParen) {
        p.property_list()
    } else {
        Ok(Vec::new())
    }
}

fn range_partition(p: &mut Parser) -> PResult<RangePartition> {
    let name = partition_head(p)?;
    let bound = if p.eat_kws(&["LESS", "THAN"]) {
        if p.eat_kw("MAXVALUE") {
            RangeBound::LessThan(vec![PartitionValue::MaxValue])
        } else {
            RangeBound::LessThan(value_tuple(p)?)
        }
    } else if p.eat(&Token::LBracket) {
        let lower = value_tuple(p)?;
        p.expect(&Token::Comma)?;
        let upper = value_tuple(p)?;
        p.expect(&Token::RParen)?;
        RangeBound::Fixed { lower, upper }
    } else {
        return Err(p.unexpected("LESS THAN or '['"));
    };
    let properties = partition_properties(p)?;
    Ok(RangePartition { name, bound, properties })
}

fn list_partition(p: &mut Parser) -> PResult<ListPartition> {
    let name = partition_head(p)?;
    p.expect_kw("IN")?;
    p.expect(&Token::LParen)?;
    let mut values = Vec::new();
    loop {
        if p.peek() == Some(&Token::LParen) {
            let tuple = value_tuple(p)?;
            let mut row = Vec::with_capacity(tuple.len());
            for v in tuple {
                match v {
                    PartitionValue::Value(s) => row.push(s),
                    PartitionValue::MaxValue => return Err(p.error_here("MAXVALUE in a list partition".into())),
                }
            }
            values.push(row);
        } else {
            values.push(vec![partition_literal(p)?]);
        }
        if !p.eat(&Token::Comma) {
            break;
        }
    }
    p.expect(&Token::RParen)?;
    let properties = partition_properties(p)?;
    Ok(ListPartition { name, values, properties })
}

/// `("v", ...)` where items may also be MAXVALUE.
fn value_tuple(p: &mut Parser) -> PResult<Vec<PartitionValue>> {
    p.expect(&Token::LParen)?;
    let mut out = Vec::new();
    loop {
        if p.eat_kw("MAXVALUE") {
            out.push(PartitionValue::MaxValue);
        } else {
            out.push(PartitionValue::Value(partition_literal(p)?));
        }
        if !p.eat(&Token::Comma) {
            break;
        }
    }
    p.expect(&Token::RParen)?;
    Ok(out)
}

/// A partition bound literal: a string, or a number written bare.
fn partition_literal(p: &mut Parser) -> PResult<String> {
    let negative = p.eat(&Token::Minus);
    match p.peek().cloned() {
        Some(Token::Number(n, _)) => {
            p.next();
            Ok(if negative { format!("-{n}") } else { n })
        }
        _ if negative => Err(p.unexpected("number")),
        _ => p.string("partition value"),
    }
}

fn distribution(p: &mut Parser) -> PResult<Distribution> {
    let kind = if p.eat_kw("HASH") {
        DistributionKind::Hash(p.ident_list("distribution column")?)
    } else if p.eat_kw("RANDOM") {
        DistributionKind::Random
    } else {
        return Err(p.unexpected("HASH or RANDOM"));
    };
    let buckets = if p.eat_kw("BUCKETS") {
        if p.eat_kw("AUTO") {
            None
        } else {
            let at = p.mark();
            let n = p.u64("bucket number")?;
            if n == 0 || n > u32::MAX as u64 {
                return Err(p.error_at(at, format!("bucket number {n} is out of range")));
            }
            Some(n as u32)
        }
    } else {
        None
    };
    Ok(Distribution { kind, buckets })
}
