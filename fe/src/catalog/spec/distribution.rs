//! DISTRIBUTED BY of CREATE TABLE, checked against the columns and the keys model.

use super::properties::check_buckets;
use super::{invalid, DistributionSpec};
use crate::catalog::table::{Column, Distribution};
use crate::catalog::types::{DataType, KeysType};
use crate::catalog::CatalogError;

pub(super) fn distribution(
    spec: Option<&DistributionSpec>,
    columns: &[Column],
    keys_type: KeysType,
) -> Result<Distribution, CatalogError> {
    let distribution = match spec {
        None => return Err(invalid("Create olap table should contain distribution desc")),
        Some(DistributionSpec::Hash { columns: dcols, buckets }) => {
            if dcols.is_empty() {
                return Err(invalid("Distribution column should not be empty"));
            }
            let mut names = Vec::new();
            for d in dcols {
                let c = columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(d))
                    .ok_or_else(|| invalid(format!("Distribution column[{d}] is not found")))?;
                if keys_type != KeysType::Duplicate && !c.is_key {
                    return Err(invalid(format!("Distribution column[{d}] is not key column")));
                }
                if let Some(why) = c.data_type.complex_refusal("distribution", &c.name) {
                    return Err(invalid(why));
                }
                if matches!(c.data_type, DataType::Float | DataType::Double) {
                    return Err(invalid(format!("Distribution column[{d}] can not be float or double")));
                }
                names.push(c.name.clone());
            }
            Distribution::Hash { columns: names, buckets: check_buckets(*buckets)? }
        }
        Some(DistributionSpec::Random { buckets }) => {
            if keys_type != KeysType::Duplicate {
                return Err(invalid("Random distribution for non-duplicate table is unsupported"));
            }
            Distribution::Random { buckets: check_buckets(*buckets)? }
        }
    };
    Ok(distribution)
}
