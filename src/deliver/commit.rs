//! Commit strategies: how an upload becomes visible under its final name,
//! written once over [`Session`] so every protocol behaves the same.
//!
//! The rule in all of them: nothing appears under the final name until the
//! whole file is on the server and its size matches (except `direct`, which
//! exists for servers that allow nothing else). Temporaries no live delivery
//! is writing (left by a crash) are swept at every connection.

use std::path::Path;

use super::{within, FailureKind, OpError, Session};
use crate::config::{CommitStrategy, DestinationSettings};

/// The folder the `folder` strategy stages uploads in.
pub const STAGING_DIR: &str = ".ferry-upload";
/// The suffix of the `marker` strategy's marker file.
pub const MARKER_SUFFIX: &str = ".done";

/// `dir/name` on the server.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Where one delivery's bytes go, fixed before the first attempt so the run
/// ledger can record it (and recovery find it) before anything moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The destination folder.
    pub dir: String,
    /// The final remote path.
    pub target: String,
    /// The temporary the bytes go to first (`rename`, `folder`).
    pub temp: Option<String>,
    /// The marker written after the file (`marker`).
    pub marker: Option<String>,
}

/// Plans the delivery of `name` with the destination's strategy.
pub fn plan(settings: &DestinationSettings, name: &str) -> Result<Plan, OpError> {
    check_name(name)?;
    let dir = settings.path.clone();
    let target = join(&dir, name);
    let token = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let (temp, marker) = match settings.commit {
        CommitStrategy::Rename => (Some(join(&dir, &format!(".{name}.ferry-{token}.partial"))), None),
        CommitStrategy::Folder => (
            Some(join(&join(&dir, STAGING_DIR), &format!("{name}.ferry-{token}.partial"))),
            None,
        ),
        CommitStrategy::Marker => (None, Some(format!("{target}{MARKER_SUFFIX}"))),
        CommitStrategy::Direct => (None, None),
    };
    Ok(Plan {
        dir,
        target,
        temp,
        marker,
    })
}

/// What the commit strategies tell the run ledger, and ask it, while a
/// delivery goes: which temporaries are still being written by someone (so
/// the sweep spares them) and that the whole file is on the server.
#[async_trait::async_trait]
pub trait Journal: Send + Sync {
    /// Remote paths of ferry temporaries that live deliveries at this
    /// destination may still be writing; `None` when there is no ledger to
    /// ask, and then nothing is swept.
    async fn in_flight(&self) -> Result<Option<Vec<String>>, String>;
    /// The whole file is on the server; the commit is next. The commit
    /// waits until this is recorded.
    async fn committing(&self) -> Result<(), String>;
}

/// A journal that records nothing, for deliveries outside any run: it
/// cannot tell which temporaries are live, so none is swept.
pub struct NoJournal;

#[async_trait::async_trait]
impl Journal for NoJournal {
    async fn in_flight(&self) -> Result<Option<Vec<String>>, String> {
        Ok(None)
    }
    async fn committing(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Whether `entry` (a name in a destination folder or its staging folder)
/// is one of ferry's temporaries, whatever the final name.
fn is_ferry_temp(entry: &str) -> bool {
    entry
        .strip_suffix(".partial")
        .and_then(|rest| rest.rsplit_once(".ferry-"))
        .is_some_and(|(_, token)| token.len() == 12 && token.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Puts `file` where `plan` says with the destination's strategy and
/// returns the final remote path. Stale ferry temporaries in the folder are
/// swept first, whatever file they were for.
pub async fn put(
    session: &mut dyn Session,
    settings: &DestinationSettings,
    file: &Path,
    plan: &Plan,
    journal: &dyn Journal,
) -> Result<String, OpError> {
    let t = settings.timeout;
    let dir = plan.dir.as_str();
    let size = std::fs::metadata(file)
        .map_err(|e| OpError::new(FailureKind::Local, format!("cannot read {}: {e}", file.display())))?
        .len();
    let target = plan.target.as_str();
    within(t, || format!("creating folder {dir}"), session.mkdir_all(dir)).await?;
    let staging = join(dir, STAGING_DIR);
    if settings.commit == CommitStrategy::Folder {
        within(t, || format!("creating folder {staging}"), session.mkdir_all(&staging)).await?;
    }
    sweep(session, settings, &[dir, &staging], journal).await?;
    let committing = || async {
        journal
            .committing()
            .await
            .map_err(|e| OpError::new(FailureKind::Local, format!("{e}; it was not committed")))
    };
    match (&plan.temp, &plan.marker) {
        (Some(temp), _) => {
            upload_checked(session, settings, file, temp, size).await?;
            if let Err(e) = committing().await {
                // Not committed: the temporary goes now rather than waiting
                // for the next sweep.
                let _ = within(t, || format!("removing {temp}"), session.remove(temp)).await;
                return Err(e);
            }
            replace(session, settings, temp, target).await?;
        }
        (None, Some(marker)) => {
            // A marker from the last delivery would announce a half-written
            // new file: take it away first.
            if within(t, || format!("checking {marker}"), session.size(marker))
                .await?
                .is_some()
            {
                within(t, || format!("removing {marker}"), session.remove(marker)).await?;
            }
            upload_checked(session, settings, file, target, size).await?;
            committing().await?;
            let empty = tempfile::NamedTempFile::new()
                .map_err(|e| OpError::new(FailureKind::Local, format!("cannot create the marker file: {e}")))?;
            upload_checked(session, settings, empty.path(), marker, 0).await?;
        }
        (None, None) => upload_checked(session, settings, file, target, size).await?,
    }
    Ok(target.to_string())
}

/// A file name that cannot escape the destination's folder.
fn check_name(name: &str) -> Result<(), OpError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(OpError::new(
            FailureKind::Local,
            format!("'{name}' is not a file name: it must not be empty or contain / or \\"),
        ));
    }
    Ok(())
}

/// Uploads and checks the size the server reports; removes a temporary
/// upload that failed half-way when the connection still allows it.
async fn upload_checked(
    session: &mut dyn Session,
    settings: &DestinationSettings,
    file: &Path,
    remote: &str,
    size: u64,
) -> Result<(), OpError> {
    let t = settings.timeout;
    let sent = session.upload(file, remote, t).await;
    let seen = match sent {
        Ok(_) => within(t, || format!("reading the size of {remote}"), session.size(remote)).await,
        Err(e) => Err(e),
    };
    match seen {
        Ok(Some(n)) if n == size => Ok(()),
        Ok(seen) => {
            let _ = within(t, || format!("removing {remote}"), session.remove(remote)).await;
            Err(OpError::new(
                FailureKind::Network,
                format!(
                    "{remote} has {} on the server after sending {size} bytes; the upload was cut short",
                    seen.map(|n| format!("{n} bytes")).unwrap_or_else(|| "no file".into())
                ),
            ))
        }
        Err(e) => {
            if !matches!(e.kind, FailureKind::Network | FailureKind::Timeout) {
                let _ = within(t, || format!("removing {remote}"), session.remove(remote)).await;
            }
            Err(e)
        }
    }
}

/// Renames `temp` over `target`; where the server refuses to replace a file,
/// removes the old one and renames again.
async fn replace(
    session: &mut dyn Session,
    settings: &DestinationSettings,
    temp: &str,
    target: &str,
) -> Result<(), OpError> {
    let t = settings.timeout;
    let first = within(
        t,
        || format!("renaming {temp} to {target}"),
        session.rename(temp, target),
    )
    .await;
    let Err(e) = first else { return Ok(()) };
    if e.kind.retryable() {
        return Err(e);
    }
    let exists = within(t, || format!("checking {target}"), session.size(target)).await?;
    if exists.is_none() {
        let _ = within(t, || format!("removing {temp}"), session.remove(temp)).await;
        return Err(e);
    }
    within(t, || format!("removing the old {target}"), session.remove(target)).await?;
    within(
        t,
        || format!("renaming {temp} to {target}"),
        session.rename(temp, target),
    )
    .await
}

/// Removes ferry temporaries that no live delivery is writing from the
/// folders `dirs` (a missing folder is fine). The folder is listed before
/// the ledger is asked, and every delivery is recorded before its temporary
/// exists, so a temporary still being written that the listing saw is in
/// the ledger's answer.
async fn sweep(
    session: &mut dyn Session,
    settings: &DestinationSettings,
    dirs: &[&str],
    journal: &dyn Journal,
) -> Result<(), OpError> {
    let t = settings.timeout;
    let mut found = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        match within(t, || format!("listing {dir}"), session.list(dir)).await {
            Ok(entries) => found.extend(entries.iter().filter(|e| is_ferry_temp(e)).map(|e| join(dir, e))),
            Err(e) if e.kind == FailureKind::NotFound || i > 0 => {}
            Err(e) => return Err(e),
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let Some(live) = journal.in_flight().await.map_err(|e| {
        OpError::new(
            FailureKind::Local,
            format!("cannot read the deliveries in flight from the state store: {e}"),
        )
    })?
    else {
        return Ok(());
    };
    // A temporary listed above may have been committed (renamed away) by
    // its delivery before the ledger was asked: it is gone, which is fine.
    // A leftover that cannot be removed never fails this delivery.
    for path in found.iter().filter(|p| !live.contains(p)) {
        match within(t, || format!("removing the leftover {path}"), session.remove(path)).await {
            Ok(()) => {
                tracing::info!(destination = %settings.name, path = %path, "Removed a ferry temporary no delivery is writing.");
            }
            Err(e) if e.kind == FailureKind::NotFound => {}
            Err(e) => {
                tracing::warn!(destination = %settings.name, path = %path, error = %e, "A stale ferry temporary could not be removed.");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ferry_temporaries_are_known_by_their_pattern_whatever_the_name() {
        assert!(is_ferry_temp(".roster.csv.ferry-0a1b2c3d4e5f.partial"));
        assert!(is_ferry_temp("roster_20261202.csv.ferry-0a1b2c3d4e5f.partial"));
        assert!(!is_ferry_temp(".roster.csv.ferry-0a1b.partial"));
        assert!(!is_ferry_temp("roster.csv"));
        assert!(!is_ferry_temp(".roster.csv.ferry-0a1b2c3d4e5f"));
        assert!(!is_ferry_temp("vendor.ferry-notahexnumber.partial"));
    }

    #[test]
    fn names_cannot_leave_the_folder() {
        for bad in ["", ".", "..", "../x", "a/b", "a\\b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name("roster 2026 é.csv").is_ok());
        assert_eq!(join("/in", "a.csv"), "/in/a.csv");
        assert_eq!(join("/", "a.csv"), "/a.csv");
    }
}
