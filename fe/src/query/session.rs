//! The session as a query sees it: `@@[session.|global.]name` system variables and the
//! functions drivers call on connect (`DATABASE()`, `USER()`, `CONNECTION_ID()`...),
//! answered with the session's values.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::variable::{VarProvider, VarType};

use super::QueryEnv;
use crate::error::FeError;

/// A system variable's value, typed as MySQL reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysVar {
    Int(i64),
    Str(String),
}

impl SysVar {
    /// The value as SHOW VARIABLES writes it.
    pub fn text(&self) -> String {
        match self {
            SysVar::Int(i) => i.to_string(),
            SysVar::Str(s) => s.clone(),
        }
    }

    fn scalar(&self) -> ScalarValue {
        match self {
            SysVar::Int(i) => ScalarValue::Int64(Some(*i)),
            SysVar::Str(s) => ScalarValue::Utf8(Some(s.clone())),
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            SysVar::Int(_) => DataType::Int64,
            SysVar::Str(_) => DataType::Utf8,
        }
    }
}

/// Every system variable's value as the session sees it and as the server has it
/// (`@@global.x`); keys are lower case.
#[derive(Debug, Clone, Default)]
pub struct SysVars {
    pub session: BTreeMap<String, SysVar>,
    pub global: BTreeMap<String, SysVar>,
}

impl SysVars {
    /// `@@x`, `@@session.x`, `@@local.x`, `@@global.x` as DataFusion splits them.
    fn lookup(&self, names: &[String]) -> Result<&SysVar, FeError> {
        let first = names.first().map(|n| n.trim_start_matches('@')).unwrap_or_default();
        let (scope, name) = match names {
            [_, name] => (first.to_ascii_lowercase(), name.as_str()),
            _ => ("session".to_string(), first),
        };
        let map = match scope.as_str() {
            "global" => &self.global,
            "session" | "local" => &self.session,
            _ => return Err(FeError::UnknownVariable(names.join("."))),
        };
        map.get(&name.to_ascii_lowercase()).ok_or_else(|| FeError::UnknownVariable(name.to_string()))
    }
}

#[derive(Debug)]
struct SystemVariables(SysVars);

impl VarProvider for SystemVariables {
    fn get_value(&self, var_names: Vec<String>) -> DfResult<ScalarValue> {
        self.0.lookup(&var_names).map(SysVar::scalar).map_err(|e| DataFusionError::External(Box::new(e)))
    }

    fn get_type(&self, var_names: &[String]) -> Option<DataType> {
        // An unknown name still plans; reading it fails with MySQL's "Unknown system variable".
        Some(self.0.lookup(var_names).map(SysVar::data_type).unwrap_or(DataType::Utf8))
    }
}

/// A function of no arguments whose value the session fixes (`DATABASE()`...).
#[derive(Debug, PartialEq, Eq, Hash)]
struct SessionValue {
    name: String,
    value: ScalarValue,
    signature: Signature,
}

impl ScalarUDFImpl for SessionValue {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(self.value.data_type())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value.clone()))
    }
}

/// The server version drivers see (`VERSION()`, `@@version`), as upstream answers.
pub const SERVER_VERSION: &str = "5.7.99";

pub(super) fn register(ctx: &SessionContext, env: &QueryEnv) {
    ctx.register_variable(VarType::System, Arc::new(SystemVariables(env.variables.clone())));
    let text = |s: String| ScalarValue::Utf8(Some(s));
    // USER() is who connected from where, CURRENT_USER() the identity whose privileges
    // apply, both quoted as upstream prints an identity: 'root'@'127.0.0.1', 'root'@'%'.
    let user = crate::auth::UserIdentity::new(env.user.clone(), env.client_host.clone()).to_string();
    let functions = [
        ("database", ScalarValue::Utf8(env.current_db.clone())),
        ("schema", ScalarValue::Utf8(env.current_db.clone())),
        ("connection_id", ScalarValue::UInt64(Some(env.connection_id as u64))),
        ("version", text(SERVER_VERSION.to_string())),
        ("user", text(user.clone())),
        ("session_user", text(user.clone())),
        ("system_user", text(user)),
        ("current_user", text(env.identity().to_string())),
        ("last_insert_id", ScalarValue::UInt64(Some(0))),
    ];
    for (name, value) in functions {
        let f = SessionValue { name: name.to_string(), value, signature: Signature::nullary(Volatility::Stable) };
        ctx.register_udf(ScalarUDF::new_from_impl(f));
    }
}
