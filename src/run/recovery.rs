//! Recovery after a crash: every delivery a dead instance left `sending` or
//! `committing` is settled against what its destination actually holds.
//!
//! - A temporary that still exists means the commit never happened: it is
//!   removed and the delivery is `abandoned` (the final name holds whatever
//!   it held before).
//! - A delivery that reached `committing` whose temporary is gone, or a
//!   marker delivery whose marker exists, is `recovered` when the final name
//!   holds a file of the recorded size (and, on a local folder, the recorded
//!   SHA-256); a `direct` delivery likewise.
//! - Otherwise a partial final file (marker, direct) is removed and the
//!   delivery is `abandoned`. A destination that cannot be reached now is
//!   tried again at the next sweep; one no longer configured is `unknown`.

use std::collections::BTreeMap;

use crate::app::App;
use crate::config::{DeliveryMode, DestinationSettings};
use crate::deliver::{within, DeliveryEnv, OpError, Session};
use crate::state::{DeliveryState, OpenDelivery, StateError};

/// What recovery did to the open deliveries.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Deliveries found complete at their destination.
    pub recovered: Vec<OpenDelivery>,
    /// Deliveries found incomplete, their temporaries removed.
    pub abandoned: Vec<OpenDelivery>,
    /// Deliveries whose destination is no longer configured.
    pub unknown: Vec<OpenDelivery>,
}

impl App {
    /// Settles the open deliveries of dead instances.
    pub async fn recover_deliveries(&self) -> Result<Recovered, StateError> {
        let mut by_dest: BTreeMap<String, Vec<OpenDelivery>> = BTreeMap::new();
        for d in self.store.open_deliveries().await? {
            by_dest.entry(d.destination.clone()).or_default().push(d);
        }
        let mut done = Recovered::default();
        let env = DeliveryEnv::from_settings(&self.settings);
        for (name, open) in by_dest {
            let Some(settings) = self.settings.destinations.get(&name) else {
                for d in open {
                    self.store.delivery_settled(&d.id, DeliveryState::Unknown).await?;
                    done.unknown.push(d);
                }
                continue;
            };
            let destination = crate::deliver::connector(settings, &env);
            let mut session = match crate::deliver::open(destination.as_ref(), settings).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(destination = %name, error = %e, "Recovery cannot reach the destination; trying again later.");
                    continue;
                }
            };
            for d in open {
                match settle(session.as_mut(), settings, &d).await {
                    Ok(state) => {
                        self.store.delivery_settled(&d.id, state).await?;
                        if state.arrived() {
                            done.recovered.push(d);
                        } else {
                            done.abandoned.push(d);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(destination = %name, error = %e, "Recovery could not look at a delivery; trying again later.");
                        break;
                    }
                }
            }
            session.close().await;
        }
        Ok(done)
    }
}

/// Looks at one open delivery and tidies the destination; the verdict.
async fn settle(
    s: &mut dyn Session,
    settings: &DestinationSettings,
    d: &OpenDelivery,
) -> Result<DeliveryState, OpError> {
    match (&d.temp, &d.marker) {
        (Some(temp), _) => {
            if exists(s, settings, temp).await? {
                remove(s, settings, temp).await?;
                return Ok(DeliveryState::Abandoned);
            }
            if d.state == DeliveryState::Committing && complete(s, settings, d).await? {
                return Ok(DeliveryState::Recovered);
            }
            Ok(DeliveryState::Abandoned)
        }
        (None, Some(marker)) => {
            let marked = exists(s, settings, marker).await?;
            if d.state == DeliveryState::Committing && marked && complete(s, settings, d).await? {
                return Ok(DeliveryState::Recovered);
            }
            remove(s, settings, marker).await?;
            remove(s, settings, &d.target).await?;
            Ok(DeliveryState::Abandoned)
        }
        (None, None) => {
            if complete(s, settings, d).await? {
                return Ok(DeliveryState::Recovered);
            }
            remove(s, settings, &d.target).await?;
            Ok(DeliveryState::Abandoned)
        }
    }
}

async fn exists(s: &mut dyn Session, settings: &DestinationSettings, path: &str) -> Result<bool, OpError> {
    let seen = within(settings.timeout, || format!("checking {path}"), s.size(path)).await?;
    Ok(seen.is_some())
}

/// Removes `path` if it is there.
async fn remove(s: &mut dyn Session, settings: &DestinationSettings, path: &str) -> Result<(), OpError> {
    if exists(s, settings, path).await? {
        within(settings.timeout, || format!("removing {path}"), s.remove(path)).await?;
    }
    Ok(())
}

/// Whether the final name holds the recorded file: its size, and on a
/// local folder (where reading it back is cheap) its SHA-256.
async fn complete(s: &mut dyn Session, settings: &DestinationSettings, d: &OpenDelivery) -> Result<bool, OpError> {
    let target = d.target.as_str();
    let seen = within(
        settings.timeout,
        || format!("reading the size of {target}"),
        s.size(target),
    )
    .await?;
    if seen != Some(d.bytes) {
        return Ok(false);
    }
    if settings.mode == DeliveryMode::Local {
        let hash = crate::format::sha256_file(std::path::Path::new(target)).ok();
        return Ok(hash.as_deref() == Some(d.sha256.as_str()));
    }
    Ok(true)
}
