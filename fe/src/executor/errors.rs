//! The one place catalog and system errors become [`FeError`]s.

use crate::catalog::CatalogError;
use crate::error::FeError;
use crate::system::SystemError;

impl From<CatalogError> for FeError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::UnknownDatabase(n) => FeError::UnknownDatabase(n),
            CatalogError::DatabaseExists(n) => FeError::DatabaseExists(n),
            CatalogError::DropUnknownDatabase(n) => FeError::DatabaseNotExists(n),
            CatalogError::TableExists(n) => FeError::TableExists(n),
            CatalogError::UnknownTable { table, .. } => FeError::UnknownTable(table),
            CatalogError::Invalid(m) => FeError::InvalidArgument(m),
            e @ CatalogError::NotNormal(..) => FeError::IllegalState(e.to_string()),
            // Upstream's text, verbatim: clients and people grep for it.
            e @ CatalogError::NotEnoughBackends { .. } => FeError::IllegalState(e.to_string()),
            CatalogError::CreateTablets(m) => FeError::Internal(m),
            CatalogError::Meta(m) => FeError::Internal(m.to_string()),
        }
    }
}

impl From<SystemError> for FeError {
    fn from(e: SystemError) -> Self {
        match e {
            SystemError::BadAddress(a) => FeError::InvalidArgument(format!("Invalid host port format: {a}")),
            e @ (SystemError::BackendExists(_) | SystemError::UnknownBackend(_)) => {
                FeError::IllegalState(e.to_string())
            }
            SystemError::Meta(m) => FeError::Internal(m.to_string()),
        }
    }
}
