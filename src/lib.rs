//! ferry: scheduled data extracts for school districts.
//!
//! A script (`scripts/NAME.rhai`) queries a database, formats the rows as the
//! exact file a vendor expects and delivers it. The modules below each own one
//! step; only `script` knows about the Rhai engine.

pub mod admin;
pub mod app;
pub mod bundle;
pub mod cancel;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod demo;
pub mod doctor;
pub mod filter;
pub mod format;
pub mod guard;
pub mod keys;
pub mod location;
pub mod metrics;
pub mod notice;
pub mod openpgp;
pub mod report;
pub mod run;
pub mod schedule;
pub mod schema;
pub mod script;
pub mod source;
pub mod state;
pub mod web;
