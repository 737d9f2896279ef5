//! Sftp delivery (in progress).

use super::{Destination, FailureKind, OpError, Session};
use crate::config::DestinationSettings;

/// Sftp destination.
pub struct Sftp {
    target: String,
}

impl Sftp {
    /// The destination `settings` describes.
    pub fn new(settings: &DestinationSettings, _env: &super::DeliveryEnv) -> Self {
        Sftp {
            target: settings.describe(),
        }
    }
}

#[async_trait::async_trait]
impl Destination for Sftp {
    async fn connect(&self) -> Result<Box<dyn Session>, OpError> {
        Err(OpError::new(
            FailureKind::Refused,
            format!("{}: not available yet", self.target),
        ))
    }
}
