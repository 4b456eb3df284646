//! CREATE / DROP / SHOW RESOURCE and STORAGE POLICY: PROPERTIES read into the cooldown
//! domain's specs, its resources and policies shown as rows.

use std::collections::BTreeMap;

use crate::cooldown::Policies;
use crate::context::Ctx;
use crate::cooldown::{PolicySpec, Resource, ResourceSpec, StoragePolicy};
use crate::error::FeError;
use crate::mysql::{QueryOutput, Value};
use crate::sql::Properties;

pub const RESOURCE_TITLES: &[&str] = &["Name", "ResourceType", "Item", "Value"];
pub const POLICY_TITLES: &[&str] =
    &["PolicyName", "Id", "Version", "Type", "StorageResource", "CooldownDatetime", "CooldownTtl", "properties"];

/// S3 resource properties we take, with the older `AWS_*` spellings upstream also accepts.
const S3_KEYS: &[(&str, &[&str])] = &[
    ("s3.endpoint", &["AWS_ENDPOINT"]),
    ("s3.region", &["AWS_REGION"]),
    ("s3.bucket", &["AWS_BUCKET"]),
    ("s3.root.path", &["AWS_ROOT_PATH"]),
    ("s3.access_key", &["AWS_ACCESS_KEY"]),
    ("s3.secret_key", &["AWS_SECRET_KEY"]),
    ("s3.session_token", &["AWS_TOKEN"]),
    ("use_path_style", &["s3.use_path_style"]),
];
const REQUIRED_S3_KEYS: &[&str] = &["s3.endpoint", "s3.region", "s3.bucket", "s3.root.path"];
/// Shown masked by SHOW RESOURCES.
const SECRET_KEYS: &[&str] = &["s3.secret_key", "s3.session_token"];

pub fn create_resource(ctx: &Ctx, policies: &Policies, name: &str, if_not_exists: bool, props: &Properties) -> Result<QueryOutput, FeError> {
    let spec = resource_spec(name, if_not_exists, props)?;
    policies.create_resource(&ctx.store, &spec)?;
    Ok(QueryOutput::ok())
}

pub fn drop_resource(ctx: &Ctx, policies: &Policies, name: &str, if_exists: bool) -> Result<QueryOutput, FeError> {
    policies.drop_resource(&ctx.store, name, if_exists)?;
    Ok(QueryOutput::ok())
}

pub fn create_policy(ctx: &Ctx, policies: &Policies, name: &str, if_not_exists: bool, props: &Properties) -> Result<QueryOutput, FeError> {
    let spec = policy_spec(name, if_not_exists, props)?;
    policies.create_policy(&ctx.store, &spec)?;
    Ok(QueryOutput::ok())
}

/// Refused while a table names the policy.
pub fn drop_policy(ctx: &Ctx, policies: &Policies, name: &str, if_exists: bool) -> Result<QueryOutput, FeError> {
    let in_use = ctx
        .catalog
        .databases()
        .into_iter()
        .flat_map(|d| ctx.catalog.tables(d.id))
        .find(|t| t.storage_policy == name)
        .map(|t| t.name.clone());
    policies.drop_policy(&ctx.store, name, if_exists, in_use)?;
    Ok(QueryOutput::ok())
}

/// `type = s3` and the S3 keys, canonical spellings; the required ones present.
fn resource_spec(name: &str, if_not_exists: bool, props: &Properties) -> Result<ResourceSpec, FeError> {
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    let mut kind = None;
    for (k, v) in props {
        if k.eq_ignore_ascii_case("type") {
            kind = Some(v.to_ascii_lowercase());
            continue;
        }
        let canonical = S3_KEYS
            .iter()
            .find(|(c, alts)| c.eq_ignore_ascii_case(k) || alts.iter().any(|a| a.eq_ignore_ascii_case(k)))
            .map(|(c, _)| *c)
            .ok_or_else(|| FeError::InvalidArgument(format!("unknown resource property '{k}'")))?;
        given.insert(canonical.to_string(), v.clone());
    }
    match kind.as_deref() {
        Some("s3") => {}
        Some(other) => return Err(FeError::not_supported(format!("resource type {other}; only s3 resources are supported"))),
        None => return Err(FeError::InvalidArgument("Resource type can't be null".into())),
    }
    if let Some(missing) = REQUIRED_S3_KEYS.iter().find(|k| given.get(**k).is_none_or(|v| v.trim().is_empty())) {
        return Err(FeError::InvalidArgument(format!("Missing [{missing}] in properties.")));
    }
    Ok(ResourceSpec { name: name.to_string(), if_not_exists, properties: given })
}

/// `storage_resource` and one of `cooldown_datetime` / `cooldown_ttl`.
fn policy_spec(name: &str, if_not_exists: bool, props: &Properties) -> Result<PolicySpec, FeError> {
    let mut resource = None;
    let (mut datetime, mut ttl) = (None, None);
    let mut shown = BTreeMap::new();
    for (k, v) in props {
        match k.to_ascii_lowercase().as_str() {
            "storage_resource" => resource = Some(v.clone()),
            "cooldown_datetime" => {
                datetime = Some(parse_datetime(v).ok_or_else(|| {
                    FeError::InvalidArgument(format!("cooldown_datetime format error: {v}, expected yyyy-MM-dd HH:mm:ss"))
                })?)
            }
            "cooldown_ttl" => {
                ttl = Some(parse_ttl(v).ok_or_else(|| {
                    FeError::InvalidArgument(format!("cooldown_ttl format error: {v}, expected seconds or a number with d, h, m or s"))
                })?)
            }
            _ => return Err(FeError::InvalidArgument(format!("unknown storage policy property '{k}'"))),
        }
        shown.insert(k.to_ascii_lowercase(), v.clone());
    }
    let resource = resource.ok_or_else(|| FeError::InvalidArgument("Missing [storage_resource] in properties.".into()))?;
    if datetime.is_some() == ttl.is_some() {
        return Err(FeError::InvalidArgument("cooldown_datetime or cooldown_ttl must be set, and not both".into()));
    }
    Ok(PolicySpec {
        name: name.to_string(),
        if_not_exists,
        resource,
        cooldown_datetime: datetime,
        cooldown_ttl: ttl,
        properties: shown,
    })
}

/// `1d`, `2h`, `30m`, `10s` or plain seconds.
fn parse_ttl(v: &str) -> Option<i64> {
    let v = v.trim();
    let (num, mult) = match v.char_indices().last()? {
        (i, 'd' | 'D') => (&v[..i], 86_400),
        (i, 'h' | 'H') => (&v[..i], 3_600),
        (i, 'm' | 'M') => (&v[..i], 60),
        (i, 's' | 'S') => (&v[..i], 1),
        _ => (v, 1),
    };
    num.trim().parse::<i64>().ok().filter(|n| *n >= 0)?.checked_mul(mult)
}

/// `yyyy-MM-dd HH:mm:ss` in the FE's local time zone, as upstream reads it.
fn parse_datetime(v: &str) -> Option<i64> {
    let t = chrono::NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    t.and_local_timezone(chrono::Local).single().map(|t| t.timestamp())
}

/// SHOW RESOURCES: one row per property, secrets masked.
pub fn show_resources(resources: &[Resource]) -> QueryOutput {
    let mut rows = Vec::new();
    for r in resources {
        let mut row = |item: &str, value: &str| {
            rows.push(vec![Value::from(r.name.as_str()), "s3".into(), item.into(), value.into()]);
        };
        row("id", &r.id.to_string());
        row("version", &r.version.to_string());
        row("type", "s3");
        for (k, v) in &r.properties {
            row(k, if SECRET_KEYS.contains(&k.as_str()) { "******" } else { v });
        }
    }
    QueryOutput::text_rows(RESOURCE_TITLES, rows)
}

/// SHOW STORAGE POLICY: one row per policy; an unset datetime or TTL is `-1`.
pub fn show_policies(policies: &[StoragePolicy]) -> QueryOutput {
    let rows = policies
        .iter()
        .map(|p| {
            let datetime = p
                .cooldown_datetime
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "-1".into());
            let props = serde_json::to_string(&p.properties).unwrap_or_default();
            vec![
                Value::from(p.name.as_str()),
                p.id.to_string().into(),
                p.version.to_string().into(),
                "STORAGE".into(),
                p.resource.as_str().into(),
                datetime.into(),
                p.cooldown_ttl.map_or("-1".to_string(), |t| t.to_string()).into(),
                props.into(),
            ]
        })
        .collect();
    QueryOutput::text_rows(POLICY_TITLES, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_and_datetimes() {
        assert_eq!(parse_ttl("1d"), Some(86_400));
        assert_eq!(parse_ttl("2h"), Some(7_200));
        assert_eq!(parse_ttl("30m"), Some(1_800));
        assert_eq!(parse_ttl("10s"), Some(10));
        assert_eq!(parse_ttl("3600"), Some(3_600));
        assert_eq!(parse_ttl("0"), Some(0));
        assert_eq!(parse_ttl("-1"), None);
        assert_eq!(parse_ttl("1w"), None);
        assert_eq!(parse_ttl(""), None);
        assert!(parse_datetime("2022-06-08 00:00:00").is_some());
        assert!(parse_datetime("2022-06-08").is_none());
    }

    #[test]
    fn resource_properties_take_upstream_spellings() {
        let props = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Properties>();
        let full = [("type", "S3"), ("AWS_ENDPOINT", "e"), ("s3.region", "r"), ("AWS_BUCKET", "b"), ("s3.root.path", "p")];
        let spec = resource_spec("r1", false, &props(&full)).unwrap();
        assert_eq!(spec.properties.get("s3.endpoint").map(String::as_str), Some("e"));
        assert_eq!(spec.properties.get("s3.bucket").map(String::as_str), Some("b"));
        let e = resource_spec("r1", false, &props(&full[..4])).unwrap_err();
        assert_eq!(e.to_string(), "invalid argument: Missing [s3.root.path] in properties.");
        let e = resource_spec("r1", false, &props(&[("type", "hdfs")])).unwrap_err();
        assert!(matches!(e, FeError::NotSupported(_)), "{e}");
        let e = policy_spec("p", false, &props(&[("storage_resource", "r1")])).unwrap_err();
        assert!(e.to_string().contains("must be set, and not both"), "{e}");
        let p = policy_spec("p", false, &props(&[("STORAGE_RESOURCE", "r1"), ("cooldown_ttl", "1h")])).unwrap();
        assert_eq!((p.resource.as_str(), p.cooldown_ttl, p.cooldown_datetime), ("r1", Some(3_600), None));
    }
}
