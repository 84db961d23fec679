//! shopdb-host: loads plugin libraries that own parts of a shop-floor asset
//! database, checks what they hand over, and applies their migration chains.
//!
//! Data flows one way, and the folders follow it (docs/ARCHITECTURE.md is
//! the map): [`plugins`] finds, vets, loads and orders plugin files into
//! validated manifests; [`checks`] reaches every verdict in scratch
//! databases before anything of that plugin is written; [`runs`] brings chains forward,
//! one transaction each; [`engine`] is the one seam every database access
//! goes through, one driver per engine. [`schema`] holds the data they share
//! (schemas, names, the SQL lexer); [`cli`] is the command line apart.
//! `upgrade-all` is [`cli::commands::upgrade_all`] → [`runs::upgrade_all`]
//! → [`engine::Engine::run_chain`].

pub mod checks;
pub mod cli;
pub mod core_schema;
pub mod engine;
pub mod error_chain;
pub mod plugins;
pub mod progress;
pub mod runs;
pub mod schema;
