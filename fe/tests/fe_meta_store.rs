//! The meta store across reopen: ids never repeat, even when the store is dropped
//! without any shutdown (what kill -9 leaves), and the catalog and backends survive.

use std::collections::BTreeSet;
use std::sync::Arc;

use doris_fe::catalog::types::KeysType;
use doris_fe::catalog::{spec::build_table, Catalog, ColumnSpec, CreateTableSpec, DistributionSpec, PartitionSpec};
use doris_fe::persist::{Kind, MetaStore, Named};
use doris_fe::system::Backends;

#[test]
fn ids_never_repeat_across_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = BTreeSet::new();
    // Several "crashes" at different points inside an id batch.
    for take in [1usize, 999, 1000, 1001, 37] {
        let store = MetaStore::open(dir.path()).unwrap();
        for _ in 0..take {
            let id = store.next_id().unwrap();
            assert!(seen.insert(id), "id {id} handed out twice");
        }
        drop(store); // no shutdown of any kind
    }
    let store = MetaStore::open(dir.path()).unwrap();
    let next = store.next_id().unwrap();
    assert!(next > *seen.iter().max().unwrap(), "ids keep growing after reopen");
}

#[test]
fn catalog_backends_and_cluster_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (db_id, table_id, backend_ids, cluster) = {
        let store = Arc::new(MetaStore::open(dir.path()).unwrap());
        let cluster = store.start_epoch(None).unwrap();
        let backends = Backends::load(store.clone()).unwrap();
        let ids: Vec<i64> = (0..3).map(|i| backends.add("127.0.0.1", 9050 + i).unwrap().id).collect();
        let catalog = Catalog::load(store.clone()).unwrap();
        let db = catalog.create_database("d1", false, 1).unwrap().unwrap();
        let spec = CreateTableSpec {
            db: "d1".into(),
            name: "t1".into(),
            if_not_exists: false,
            columns: vec![ColumnSpec {
                name: "k".into(),
                type_text: "bigint".into(),
                nullable: Some(false),
                aggregation: None,
                default_value: None,
                comment: "the key".into(),
                auto_increment: None,
            }],
            keys: Some((KeysType::Duplicate, vec!["k".into()])),
            partition: PartitionSpec::None,
            distribution: Some(DistributionSpec::Hash { columns: vec!["k".into()], buckets: Some(2) }),
            properties: [("replication_num".to_string(), "2".to_string())].into(),
            comment: String::new(),
            auto_increment_ceiling: None,
            hidden: None,
        };
        let t = build_table(&spec, db.id, &ids, || Ok(store.next_id()?), 5).unwrap();
        let tid = t.id;
        catalog.register_table(t).unwrap();
        store.put_named(Named::Repository, "repo1", &"s3://b/p").unwrap();
        store.put(Kind::Job, 1, &"job").unwrap();
        (db.id, tid, ids, cluster)
        // everything dropped here without shutdown
    };

    let store = Arc::new(MetaStore::open(dir.path()).unwrap());
    let again = store.start_epoch(None).unwrap();
    assert_eq!(again.cluster_id, cluster.cluster_id);
    assert_eq!(again.token, cluster.token);
    assert_eq!(again.epoch, cluster.epoch + 1);

    let backends = Backends::load(store.clone()).unwrap();
    let ids: Vec<i64> = backends.all().iter().map(|b| b.id).collect();
    assert_eq!(ids, backend_ids);
    assert!(backends.all().iter().all(|b| !b.alive), "liveness is re-learnt after a restart");

    let catalog = Catalog::load(store.clone()).unwrap();
    assert_eq!(catalog.database("d1").unwrap().id, db_id);
    let t = catalog.table("d1", "t1").unwrap();
    assert_eq!(t.id, table_id);
    assert_eq!(t.partitions.len(), 1);
    assert_eq!(t.partitions[0].index.tablets.len(), 2);
    assert!(t.partitions[0].index.tablets.iter().all(|tb| tb.replicas.len() == 2));
    assert_eq!(t.columns[0].comment, "the key");
    assert_eq!(
        store.load_all_named::<String>(Named::Repository).unwrap(),
        vec![("repo1".to_string(), "s3://b/p".to_string())]
    );
    assert_eq!(store.get::<String>(Kind::Job, 1).unwrap().as_deref(), Some("job"));

    // New ids are above every id stored before the crash.
    let max_before = t.tablets().flat_map(|(_, tb)| tb.replicas.iter().map(|r| r.id)).max().unwrap();
    assert!(store.next_id().unwrap() > max_before);

    // Dropping the database removes its tables in the same transaction.
    let dropped = catalog.drop_database("d1", false, false).unwrap().unwrap();
    assert_eq!(dropped.len(), 1);
    drop(catalog);
    let catalog = Catalog::load(store).unwrap();
    assert!(catalog.database("d1").is_none());
    assert!(catalog.table_by_id(table_id).is_none());
}

#[test]
fn a_second_open_of_the_same_meta_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = MetaStore::open(dir.path()).unwrap();
    let e = MetaStore::open(dir.path()).unwrap_err();
    assert!(e.to_string().contains("meta store"), "{e}");
}

#[test]
fn table_updates_are_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MetaStore::open(dir.path()).unwrap());
    let catalog = Catalog::load(store.clone()).unwrap();
    let db = catalog.create_database("d", false, 1).unwrap().unwrap();
    let spec = CreateTableSpec {
        db: "d".into(),
        name: "t".into(),
        if_not_exists: false,
        columns: vec![ColumnSpec {
            name: "k".into(),
            type_text: "int".into(),
            nullable: None,
            aggregation: None,
            default_value: None,
            comment: String::new(),
            auto_increment: None,
        }],
        keys: None,
        partition: PartitionSpec::None,
        distribution: Some(DistributionSpec::Random { buckets: Some(1) }),
        properties: [("replication_num".to_string(), "1".to_string())].into(),
        comment: String::new(),
        auto_increment_ceiling: None,
        hidden: None,
    };
    let t = build_table(&spec, db.id, &[7], || Ok(store.next_id()?), 5).unwrap();
    let id = t.id;
    catalog.register_table(t).unwrap();
    catalog.update_table(id, |t| t.partitions[0].visible_version = 9).unwrap();
    drop(catalog);
    let catalog = Catalog::load(store).unwrap();
    assert_eq!(catalog.table_by_id(id).unwrap().partitions[0].visible_version, 9);
    assert!(catalog.update_table(12345, |_| ()).is_err());
}
