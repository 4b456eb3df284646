//! Doris wire types and the async thrift transport.
//!
//! The modules mounted below are the Apache Thrift compiler's output for `thrift/`
//! (see `gen/regen.sh`); they refer to each other as `crate::<module>`, which is why
//! they sit at the crate root. `transport` is ours: framing, server, client.
#![allow(clippy::all)]

#[path = "generated/agent_service.rs"] pub mod agent_service;
#[path = "generated/backend_service.rs"] pub mod backend_service;
#[path = "generated/descriptors.rs"] pub mod descriptors;
#[path = "generated/frontend_service.rs"] pub mod frontend_service;
#[path = "generated/heartbeat_service.rs"] pub mod heartbeat_service;
#[path = "generated/master_service.rs"] pub mod master_service;
#[path = "generated/plan_nodes.rs"] pub mod plan_nodes;
#[path = "generated/status.rs"] pub mod status;
#[path = "generated/types.rs"] pub mod types;

pub mod transport;
pub mod services;
pub mod task_body;

pub use thrift::protocol::TSerializable;
