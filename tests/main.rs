//! ferry's integration tests: one binary, a module per area, driven through
//! the library and the built `ferry` program. Needs no servers; the
//! PostgreSQL / MariaDB suite is `tests/servers.rs`.

#![allow(clippy::unwrap_used)] // a test that unwraps fails with the error; see clippy.toml
#![allow(unreachable_pub)] // helpers are shared between test modules by `pub`; nothing outside this binary can see them

mod harness;

mod broken;
mod cli;
mod cli_people;
mod console;
mod console_hardening;
mod console_totp;
mod delivery;
mod delivery_smb;
mod doc_examples;
mod errors;
mod examples;
mod filters;
mod fixed_width;
mod formats;
mod ftps;
mod json_files;
mod layers;
mod limits;
mod metrics;
mod notify;
mod pgp;
mod reference;
mod report;
mod safety;
mod schema_guards;
mod serve;
mod sftp;
mod sidecars;
mod templates;
mod users;
mod zips;
