//! The build script every bundled plugin shares: refinery's
//! `embed_migrations!` reads `migrations/` at compile time but does not tell
//! cargo to watch the directory, so a newly added migration would not trigger
//! a rebuild without this.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=schema.sql");
}
