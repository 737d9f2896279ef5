//! Ftps delivery (in progress).

use super::{Destination, FailureKind, OpError, Session};
use crate::config::DestinationSettings;

/// Ftps destination.
pub struct Ftps {
    target: String,
}

impl Ftps {
    /// The destination `settings` describes.
    pub fn new(settings: &DestinationSettings) -> Self {
        Ftps {
            target: settings.describe(),
        }
    }
}

#[async_trait::async_trait]
impl Destination for Ftps {
    async fn connect(&self) -> Result<Box<dyn Session>, OpError> {
        Err(OpError::new(
            FailureKind::Refused,
            format!("{}: not available yet", self.target),
        ))
    }
}
