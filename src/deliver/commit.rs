//! Commit strategies: how an upload becomes visible under its final name,
//! written once over [`Session`] so every protocol behaves the same.
//!
//! The rule in all of them: nothing appears under the final name until the
//! whole file is on the server and its size matches (except `direct`, which
//! exists for servers that allow nothing else). Temporary files left by an
//! earlier, interrupted delivery of the same name are removed first.

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

/// The temporary name the `rename` strategy uploads `name` under.
fn partial_name(name: &str, token: &str) -> String {
    format!(".{name}.ferry-{token}.partial")
}

/// Whether `entry` is a temporary file of an earlier delivery of `name`.
fn is_orphan_of(entry: &str, name: &str) -> bool {
    entry
        .strip_prefix(&format!(".{name}.ferry-"))
        .is_some_and(|rest| rest.ends_with(".partial"))
        || entry
            .strip_prefix(&format!("{name}.ferry-"))
            .is_some_and(|rest| rest.ends_with(".partial"))
}

/// Puts `file` at `settings.path/name` with the destination's strategy and
/// returns the final remote path.
pub async fn put(
    session: &mut dyn Session,
    settings: &DestinationSettings,
    file: &Path,
    name: &str,
) -> Result<String, OpError> {
    check_name(name)?;
    let t = settings.timeout;
    let dir = settings.path.as_str();
    let size = std::fs::metadata(file)
        .map_err(|e| OpError::new(FailureKind::Local, format!("cannot read {}: {e}", file.display())))?
        .len();
    let target = join(dir, name);
    within(t, || format!("creating folder {dir}"), session.mkdir_all(dir)).await?;
    let token = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    match settings.commit {
        CommitStrategy::Rename => {
            remove_orphans(session, settings, dir, name).await?;
            let temp = join(dir, &partial_name(name, &token));
            upload_checked(session, settings, file, &temp, size).await?;
            replace(session, settings, &temp, &target).await?;
        }
        CommitStrategy::Folder => {
            let staging = join(dir, STAGING_DIR);
            within(t, || format!("creating folder {staging}"), session.mkdir_all(&staging)).await?;
            remove_orphans(session, settings, &staging, name).await?;
            let temp = join(&staging, &format!("{name}.ferry-{token}.partial"));
            upload_checked(session, settings, file, &temp, size).await?;
            replace(session, settings, &temp, &target).await?;
        }
        CommitStrategy::Marker => {
            let marker = format!("{target}{MARKER_SUFFIX}");
            // A marker from the last delivery would announce a half-written
            // new file: take it away first.
            if within(t, || format!("checking {marker}"), session.size(&marker))
                .await?
                .is_some()
            {
                within(t, || format!("removing {marker}"), session.remove(&marker)).await?;
            }
            upload_checked(session, settings, file, &target, size).await?;
            let empty = tempfile::NamedTempFile::new()
                .map_err(|e| OpError::new(FailureKind::Local, format!("cannot create the marker file: {e}")))?;
            upload_checked(session, settings, empty.path(), &marker, 0).await?;
        }
        CommitStrategy::Direct => upload_checked(session, settings, file, &target, size).await?,
    }
    Ok(target)
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

/// Removes temporary files an earlier, interrupted delivery of `name` left in
/// `dir`. Only this name's: another script may be uploading next to it.
async fn remove_orphans(
    session: &mut dyn Session,
    settings: &DestinationSettings,
    dir: &str,
    name: &str,
) -> Result<(), OpError> {
    let t = settings.timeout;
    let entries = within(t, || format!("listing {dir}"), session.list(dir)).await?;
    for entry in entries.iter().filter(|e| is_orphan_of(e, name)) {
        let path = join(dir, entry);
        within(t, || format!("removing the leftover {path}"), session.remove(&path)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphans_are_this_names_temporaries_only() {
        assert!(is_orphan_of(".roster.csv.ferry-0a1b2c3d4e5f.partial", "roster.csv"));
        assert!(is_orphan_of("roster.csv.ferry-0a1b2c3d4e5f.partial", "roster.csv"));
        assert!(!is_orphan_of(".roster.csv.ferry-0a1b.partial", "staff.csv"));
        assert!(!is_orphan_of("roster.csv", "roster.csv"));
        assert!(!is_orphan_of(".roster.csv.ferry-x", "roster.csv"));
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
