//! Plugin files, from the directory to validated manifests in dependency
//! order: [`discover`] lists the files, [`trust`] and [`elf`] decide before
//! loading whether a file may be loaded at all, [`lockfile`] pins files by
//! hash, [`load`] loads one through the stable ABI into a [`manifest`], and
//! [`inventory`] sorts out which plugins are usable and in what order.
//! [`scaffold`] writes a new plugin crate.

pub mod discover;
pub mod elf;
pub mod inventory;
pub mod load;
pub mod lockfile;
pub mod manifest;
pub mod scaffold;
pub mod trust;
