//! BE reports and finishTask intake: replica facts into the catalog, disks into the
//! backend, finished tasks to whoever waits for them.

use doris_thrift::master_service::{TFinishTaskRequest, TReportRequest, TTabletInfo};
use doris_thrift::types::TBackend;
use tracing::{debug, info_span};

use super::backends::{host_port, Backend, Disk};
use crate::catalog::ReplicaReport;
use crate::context::FeContext;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("backend {0} is not part of this cluster; add it with ALTER SYSTEM ADD BACKEND")]
    UnknownBackend(String),
    #[error("cannot record the report: {0}")]
    Store(String),
}

fn backend_of(ctx: &FeContext, b: &TBackend) -> Result<Backend, ReportError> {
    if let Some(id) = b.id {
        if let Some(be) = ctx.backends.get(id) {
            return Ok(be);
        }
    }
    ctx.backends
        .find_by_be_addr(&b.host, b.be_port)
        .ok_or_else(|| ReportError::UnknownBackend(host_port(&b.host, b.be_port)))
}

/// Hand a finishTask to its waiter. Unknown tasks are fine (a restarted FE, a late reply).
pub fn finish_task(ctx: &FeContext, req: TFinishTaskRequest) -> Result<bool, ReportError> {
    let be = backend_of(ctx, &req.backend)?;
    let _g = info_span!("finish_task", backend_id = be.id, signature = req.signature).entered();
    Ok(ctx.tasks.finish(be.id, req))
}

pub fn apply_report(ctx: &FeContext, req: &TReportRequest) -> Result<(), ReportError> {
    let be = backend_of(ctx, &req.backend)?;
    let _g = info_span!("report", backend_id = be.id).entered();
    if let Some(disks) = &req.disks {
        let disks: Vec<Disk> = disks
            .values()
            .map(|d| Disk {
                root_path: d.root_path.clone(),
                total: d.disk_total_capacity,
                data_used: d.data_used_capacity,
                available: d.disk_available_capacity.unwrap_or(0),
                trash_used: d.trash_used_capacity.unwrap_or(0),
                remote_used: d.remote_used_capacity.unwrap_or(0),
                used: d.used,
            })
            .collect();
        ctx.backends
            .update(be.id, |b| {
                b.disks = disks.into_iter().map(|d| (d.root_path.clone(), d)).collect();
                false
            })
            .map_err(|e| ReportError::Store(e.to_string()))?;
    }
    if let Some(n) = req.num_cores {
        let _ = ctx.backends.update(be.id, |b| {
            b.cpu_cores = n;
            false
        });
    }
    let mut infos: Vec<&TTabletInfo> = Vec::new();
    if let Some(tablets) = &req.tablets {
        infos.extend(tablets.values().flat_map(|t| t.tablet_infos.iter().map(|b| &**b)));
    }
    if let Some(list) = &req.tablet_list {
        infos.extend(list.iter().flat_map(|t| t.tablet_infos.iter().map(|b| &**b)));
    }
    if !infos.is_empty() {
        let reports: Vec<ReplicaReport> = infos.iter().map(|i| replica_report(i)).collect();
        let changed = ctx
            .catalog
            .apply_replica_reports(be.id, &reports, FeContext::now_ms())
            .map_err(|e| ReportError::Store(e.to_string()))?;
        debug!(tablets = reports.len(), changed, "tablet report applied");
    }
    Ok(())
}

pub fn replica_report(i: &TTabletInfo) -> ReplicaReport {
    ReplicaReport {
        tablet_id: i.tablet_id,
        version: i.version,
        row_count: i.row_count,
        data_size: i.data_size,
        remote_data_size: i.remote_data_size.unwrap_or(0),
        version_count: i.total_version_count.unwrap_or(0),
        path_hash: i.path_hash.unwrap_or(0),
        cooldown_term: i.cooldown_term,
    }
}
