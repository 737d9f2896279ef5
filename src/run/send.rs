//! Sending one file to one destination through the run ledger: recorded
//! `sending` (with its temporary and final names, size and SHA-256) before
//! the first byte moves, `committing` once the whole file is on the server,
//! and `delivered` or `failed` after. A script's `deliver`, `ferry resend`
//! and `ferry release` all send this way, sidecars included.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use futures::future::{BoxFuture, FutureExt, Shared};

use super::context::{Artifact, Delivery};
use crate::config::DestinationSettings;
use crate::deliver::commit::{self, Journal};
use crate::deliver::DeliveryEnv;
use crate::state::{DeliveryIntent, DeliveryState, Store};

/// A delivery that did not arrive: what is recorded, and why.
#[derive(Debug)]
pub(crate) struct NotSent {
    /// The failed delivery as recorded.
    pub delivery: Delivery,
    /// What went wrong and what to do.
    pub error: String,
}

/// A check of a file's content running beside its upload.
type Check = Shared<BoxFuture<'static, Result<(), String>>>;

/// SHA-256 checks of kept files, started before their uploads and awaited
/// just before each commit: a resend hashes while it sends, so the check
/// costs no wall time on a second core, and a file that changed since its
/// run is still never committed at the destination (its temporary is left
/// to the sweep, under a name no receiver reads).
#[derive(Default)]
pub(crate) struct Verification {
    checks: HashMap<PathBuf, Check>,
}

impl Verification {
    /// Starts checking that each file still has its recorded SHA-256.
    pub(crate) fn start<'f>(files: impl IntoIterator<Item = &'f Artifact>) -> Verification {
        let mut checks = HashMap::new();
        for a in files {
            let (path, want) = (a.path.clone(), a.sha256.clone());
            let check = async move {
                let shown = path.display().to_string();
                let actual = tokio::task::spawn_blocking(move || crate::format::sha256_file(&path))
                    .await
                    .map_err(|e| format!("the check of {shown} stopped: {e}"))?
                    .map_err(|e| format!("its kept file {shown} cannot be read: {e}"))?;
                if actual == want {
                    Ok(())
                } else {
                    Err(format!(
                        "its kept file {shown} changed since the run (SHA-256 {actual}, recorded {want}); it is not sent"
                    ))
                }
            };
            checks.insert(a.path.clone(), check.boxed().shared());
        }
        Verification { checks }
    }

    /// The check of `path`, if one was started.
    fn of(&self, path: &std::path::Path) -> Option<Check> {
        self.checks.get(path).cloned()
    }
}

/// The ledger as the commit strategies see it during one delivery.
struct LedgerJournal<'a> {
    store: &'a Store,
    destination: &'a str,
    delivery: &'a str,
    check: Option<Check>,
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
        if let Some(check) = &self.check {
            check.clone().await?;
        }
        self.store
            .delivery_committing(self.delivery)
            .await
            .map_err(|e| format!("cannot record the delivery in the state store ({e})"))
    }
}

/// What a delivery needs besides the file and where it goes: the ledger,
/// whose run it is, and how to report and stop.
pub(crate) struct Courier<'a> {
    pub store: &'a Store,
    pub instance: &'a str,
    pub run: i64,
    pub env: &'a DeliveryEnv,
    pub log: &'a (dyn Fn(String) + Send + Sync),
    pub cancel: &'a AtomicBool,
    /// Content checks a file must pass before it is committed.
    pub verified: Option<&'a Verification>,
}

/// A data file's delivery with its sidecars.
pub(crate) struct Sent {
    /// Every delivery tried, the data file's first.
    pub deliveries: Vec<Delivery>,
    /// The sidecar files written beside the data file.
    pub sidecars: Vec<Artifact>,
    /// What stopped it, if anything.
    pub failed: Option<NotSent>,
}

impl Courier<'_> {
    /// Sends `file`, then, once it has arrived, writes the destination's
    /// checksum and manifest sidecars beside it and sends each the same
    /// way, so a receiver never sees a sidecar before its file. The first
    /// failure stops the rest.
    pub(crate) async fn send_with_sidecars(&self, file: &Artifact, settings: &DestinationSettings) -> Sent {
        let mut sent = Sent {
            deliveries: Vec::new(),
            sidecars: Vec::new(),
            failed: None,
        };
        match self.send(file, settings).await {
            Ok(d) => sent.deliveries.push(d),
            Err(e) => {
                sent.failed = Some(e);
                return sent;
            }
        }
        if settings.sidecars.is_empty() {
            return sent;
        }
        let dest = settings.name.as_str();
        let dir = file.path.parent().unwrap_or(std::path::Path::new("."));
        let data = crate::format::sidecar::Described {
            name: &file.name,
            path: &file.path,
            bytes: file.bytes,
            rows: file.rows,
            sha256: &file.sha256,
        };
        let written = match crate::format::sidecar::write(dir, &data, &settings.sidecars) {
            Ok(w) => w,
            Err(e) => {
                sent.failed = Some(NotSent {
                    delivery: Delivery::not_sent(&file.name, dest, 0, DeliveryState::Failed),
                    error: format!(
                        "{} arrived at '{dest}', but its sidecars could not be written in {}: {e}",
                        file.name,
                        dir.display()
                    ),
                });
                return sent;
            }
        };
        sent.sidecars = written.into_iter().map(|w| Artifact::written(w, 0)).collect();
        for sidecar in &sent.sidecars {
            match self.send(sidecar, settings).await {
                Ok(d) => sent.deliveries.push(d),
                Err(mut e) => {
                    e.error = format!(
                        "{} arrived at '{dest}', but its sidecar {} did not: {}",
                        file.name, sidecar.name, e.error
                    );
                    sent.failed = Some(e);
                    break;
                }
            }
        }
        sent
    }

    /// Sends `file` to `settings`, recording every step. When `cancel` is
    /// raised mid-way the upload is dropped and the delivery stays
    /// `sending`: whether its bytes or its rename reached the server is
    /// settled against the destination by recovery at the next start.
    pub(crate) async fn send(&self, file: &Artifact, settings: &DestinationSettings) -> Result<Delivery, NotSent> {
        let Courier {
            store,
            instance,
            run,
            env,
            log,
            cancel,
            verified,
        } = *self;
        let dest = settings.name.as_str();
        let refused = |error: String, attempts: u32| NotSent {
            delivery: Delivery::not_sent(&file.name, dest, attempts, DeliveryState::Failed),
            error,
        };
        let plan = commit::plan(settings, &file.name).map_err(|e| refused(e.message, 0))?;
        let check = verified.and_then(|v| v.of(&file.path));
        if let Some(check) = &check {
            // Without a temporary or marker there is no commit to hold back:
            // the check comes first.
            if plan.temp.is_none() && plan.marker.is_none() {
                check.clone().await.map_err(|e| refused(e, 0))?;
            }
        }
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
                    0,
                )
            })?;
        let journal = LedgerJournal {
            store,
            destination: dest,
            delivery: &id,
            check,
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
                Err(refused(e.to_string(), attempts))
            }
        }
    }
}
