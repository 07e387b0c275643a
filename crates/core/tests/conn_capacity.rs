//! The capacity a worker reports (rvs_conn_table_capacity, rvsadm's `size=`) is the one
//! its table really has.

use std::sync::Arc;

use rvs_core::conn::{ConnConfig, ConnTable, MAX_ENTRIES};
use rvs_core::forward::{Balancer, Directory};
use rvs_core::service::Snapshot;
use rvs_core::stats::CoreStats;

#[test]
fn defect_11_reported_capacity_is_the_tables() {
    // A capacity the table cannot take is adjusted; the metric used to show the
    // configured figure instead.
    for asked in [0u32, 1, 1000] {
        let stats = Arc::new(CoreStats::with_dests(1, 1, 16));
        let conn = ConnConfig { capacity: asked, max_dests: 16, ..ConnConfig::default() };
        let real = ConnTable::new(conn, 0).capacity() as u64;
        let _b = Balancer::new(
            0,
            conn,
            Arc::new(Snapshot::new(vec![], 16)),
            Arc::new(Directory::new(1, 64)),
            stats.clone(),
            0,
        );
        assert_eq!(stats.conn_capacity.get(), real, "asked for {asked}");
    }
}

#[test]
fn defect_11_effective_capacity_is_bounded_by_the_index() {
    let c = |capacity| ConnConfig { capacity, ..ConnConfig::default() }.effective_capacity();
    assert_eq!(
        (c(0), c(1), c(MAX_ENTRIES), c(MAX_ENTRIES + 1), c(u32::MAX)),
        (1, 1, MAX_ENTRIES, MAX_ENTRIES, MAX_ENTRIES)
    );
    assert_eq!(MAX_ENTRIES, 8_388_607, "rvsd's config bound quotes this figure");
}
