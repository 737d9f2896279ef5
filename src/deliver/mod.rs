//! Destinations: getting a finished file to where the vendor reads it.
//!
//! One trait, one implementation per protocol. Arrival is atomic: a file is
//! written under a temporary name in the target folder and renamed into place,
//! so a poller never sees half a file.

mod local;

use std::path::Path;

use futures::future::BoxFuture;

pub use local::LocalFolder;

use crate::config::{DeliveryMode, DestinationSettings};

/// Why a delivery failed, and whether trying again could help.
#[derive(Debug, thiserror::Error)]
#[error("delivery to '{destination}' failed: {message}")]
pub struct DeliveryError {
    /// The destination's name.
    pub destination: String,
    /// What went wrong and what to do.
    pub message: String,
    /// A network hiccup (retry) rather than a refusal (fix the settings).
    pub retryable: bool,
}

/// Where a file ended up.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// The full remote path of the file.
    pub remote_path: String,
}

/// A place files are delivered to.
pub trait Destination: Send + Sync {
    /// Puts the local file `file` at the destination as `name`, atomically.
    fn put<'a>(&'a self, file: &'a Path, name: &'a str) -> BoxFuture<'a, Result<Delivered, DeliveryError>>;
}

/// Builds the destination a configuration entry describes.
pub fn build(name: &str, settings: &DestinationSettings) -> Box<dyn Destination> {
    match settings.mode {
        DeliveryMode::Local => Box::new(LocalFolder::new(name, &settings.path)),
    }
}
