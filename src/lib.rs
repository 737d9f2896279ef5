//! ferry: scheduled data extracts for school districts.
//!
//! A script (`scripts/NAME.rhai`) queries a database, formats the rows as the
//! exact file a vendor expects and delivers it. The modules below each own one
//! step; only `script` knows about the Rhai engine.
//!
//! A module is `pub` only when the binary or the integration tests use it,
//! so the compiler reports what nothing uses; their layers are in
//! docs/architecture.md and checked by `tests/layers.rs`.

mod admin;
mod app;
mod bundle;
mod cancel;
mod catalog;
pub mod cli;
pub mod config;
mod daemon;
pub mod deliver;
mod demo;
mod doctor;
mod filter;
pub mod format;
mod guard;
pub mod keys;
mod location;
mod metrics;
mod notice;
mod openpgp;
mod report;
pub mod run;
mod schedule;
mod schema;
pub mod script;
pub mod source;
pub mod state;
pub mod web;
