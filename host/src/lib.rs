//! shopdb-host: loads plugin libraries that own parts of a shop-floor asset
//! database, checks what they hand over, and applies their migration chains.
//!
//! Data flows one way: [`discover`] finds files, [`load`] loads each through
//! the stable ABI into a validated [`manifest`], [`inventory`] decides which
//! plugins are usable and in what order, [`check`] refuses what would corrupt
//! the database (in a scratch database, under the [`guard`]), [`migrate`]
//! applies chains through the [`db`] seam, and [`report`] prints the result.
//! `upgrade-all` is [`commands::upgrade_all`] → [`migrate::upgrade_all`] →
//! [`db::Database::apply`].

pub mod adopt;
pub mod audit;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod db;
pub mod discover;
pub mod error;
pub mod guard;
pub mod history;
pub mod inventory;
pub mod load;
pub mod manifest;
pub mod migrate;
pub mod names;
pub mod pin;
pub mod progress;
pub mod report;
pub mod scaffold;
pub mod schema;
pub mod sqltext;
pub mod status;
pub mod trust;
pub mod uninstall;
pub mod vet;
