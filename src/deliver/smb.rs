//! Smb delivery (in progress).

use super::{Destination, FailureKind, OpError, Session};
use crate::config::DestinationSettings;

/// Smb destination.
pub struct Smb {
    target: String,
}

impl Smb {
    /// The destination `settings` describes.
    pub fn new(settings: &DestinationSettings) -> Self {
        Smb {
            target: settings.describe(),
        }
    }
}

#[async_trait::async_trait]
impl Destination for Smb {
    async fn connect(&self) -> Result<Box<dyn Session>, OpError> {
        Err(OpError::new(
            FailureKind::Refused,
            format!("{}: not available yet", self.target),
        ))
    }
}
