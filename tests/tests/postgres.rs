//! The PostgreSQL engine end to end: the real binary and plugin libraries
//! against a real PostgreSQL server the test binary starts itself.

use shopdb_tests::postgres::server;
use shopdb_tests::{Sandbox, BUNDLED};

#[test]
fn six_plugins_apply_and_a_second_run_changes_nothing() {
    let db = server().database();
    let sandbox = Sandbox::on_postgres(&db);
    sandbox.install(&BUNDLED);
    let first = sandbox.host(&["upgrade-all", "--json"]).succeeds();
    eprintln!("{}", first.report());
    let before = db.snapshot();
    sandbox.host(&["upgrade-all"]).succeeds().stdout_has("up to date");
    assert_eq!(before, db.snapshot());
}
