//! Sending one file to one destination through the run ledger: recorded
//! `sending` (with its temporary and final names, size and SHA-256) before
//! the first byte moves, `committing` once the whole file is on the server,
//! and `delivered` or `failed` after. A script's `deliver`, `ferry resend`
//! and `ferry release` all send this way.

use std::sync::atomic::AtomicBool;

use super::context::{Artifact, Delivery};
use crate::config::DestinationSettings;
use crate::deliver::commit::{self, Journal};
use crate::deliver::{DeliveryEnv, DeliveryError};
use crate::state::{DeliveryIntent, DeliveryState, Store};

/// A delivery that did not arrive: what is recorded, and why.
#[derive(Debug)]
pub struct NotSent {
    /// The failed delivery as recorded.
    pub delivery: Delivery,
    /// What went wrong and what to do.
    pub error: String,
    /// The delivery error, when the destination was tried.
    pub cause: Option<DeliveryError>,
}

/// The ledger as the commit strategies see it during one delivery.
struct LedgerJournal<'a> {
    store: &'a Store,
    destination: &'a str,
    delivery: &'a str,
}

#[async_trait::async_trait]
impl Journal for LedgerJournal<'_> {
    async fn in_flight(&self) -> Result<Option<Vec<String>>, String> {
        self.store
            .temporaries_in_flight(self.destination)
            .await
            .map(Some)
            .map_err(|e| e.to_string())
    }

    async fn committing(&self) -> Result<(), String> {
        self.store
            .delivery_committing(self.delivery)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Sends `file` to `settings` for run `run`, recording every step. When
/// `cancel` is raised mid-way the upload is dropped and the delivery stays
/// `sending`: whether its bytes or its rename reached the server is settled
/// against the destination by recovery at the next start.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    store: &Store,
    instance: &str,
    run: i64,
    file: &Artifact,
    settings: &DestinationSettings,
    env: &DeliveryEnv,
    log: &(dyn Fn(String) + Send + Sync),
    cancel: &AtomicBool,
) -> Result<Delivery, NotSent> {
    let dest = settings.name.as_str();
    let refused = |error: String, cause: Option<DeliveryError>, attempts: u32| NotSent {
        delivery: Delivery::not_sent(&file.name, dest, attempts, DeliveryState::Failed),
        error,
        cause,
    };
    let plan = commit::plan(settings, &file.name).map_err(|e| refused(e.message, None, 0))?;
    let id = store
        .delivery_sending(&DeliveryIntent {
            run,
            file,
            destination: dest,
            target: &plan.target,
            temp: plan.temp.as_deref(),
            marker: plan.marker.as_deref(),
            instance,
        })
        .await
        .map_err(|e| {
            refused(
                format!(
                    "cannot record the delivery of {} in the state store, so nothing was sent: {e}",
                    file.name
                ),
                None,
                0,
            )
        })?;
    let journal = LedgerJournal {
        store,
        destination: dest,
        delivery: &id,
    };
    let delivered = tokio::select! {
        biased;
        d = crate::deliver::deliver_planned(settings, env, &file.path, &plan, &journal, log) => d,
        () = crate::cancel::raised(cancel) => {
            return Err(NotSent {
                delivery: Delivery::not_sent(&file.name, dest, 1, DeliveryState::Sending),
                error: format!(
                    "the run was cancelled while {} was being sent to {dest}; ferry checks the \
                     destination at its next start and records whether it arrived",
                    file.name
                ),
                cause: None,
            });
        }
    };
    match delivered {
        Ok(d) => {
            let delivery = Delivery::sent(&file.name, dest, d);
            // Should this write fail, the delivery stays `committing` and
            // recovery finds the file under its final name.
            if let Err(e) = store.delivery_delivered(&id, &delivery).await {
                tracing::error!(error = %e, file = %file.name, "The delivery arrived but could not be recorded; recovery will record it.");
            }
            Ok(delivery)
        }
        Err(e) => {
            let attempts = e.attempts.len() as u32;
            if let Err(se) = store.delivery_failed(&id, attempts).await {
                tracing::error!(error = %se, file = %file.name, "A failed delivery could not be recorded; recovery will look.");
            }
            Err(refused(e.to_string(), Some(e), attempts))
        }
    }
}
