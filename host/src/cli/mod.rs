//! The command line, apart from the rest: clap's definitions ([`args`]),
//! configuration ([`config`]), one function per subcommand from arguments
//! to a report ([`commands`]), how reports and errors print ([`report`],
//! [`error`]) and the terminal's progress spinner ([`spinner`]). `main.rs`
//! only parses, calls and prints.

pub mod args;
pub mod commands;
pub mod config;
pub mod error;
pub mod report;
pub mod spinner;
