//! The build script every bundled plugin shares: `export_plugin!` embeds
//! `migrations/` at compile time, but cargo only watches the files it
//! embedded, so a newly added migration would not trigger a rebuild without
//! this.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=schema.sql");
}
