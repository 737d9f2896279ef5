//! A folder on this machine (or a mounted share). Remote paths are the local
//! absolute paths; the commit strategies work here exactly as on a server.
//!
//! A file ferry has finished never changes again, so a local delivery can
//! be a hard link to it instead of a second copy of its bytes: the
//! temporary name is linked, then renamed like any upload. The shared file
//! is made read-only first, so a receiver that tries to edit it in place
//! fails instead of changing what ferry kept (and `resend` checks the
//! kept file's SHA-256 anyway). Across file systems, or where the folder
//! cannot hold links (some network shares), the file is copied.

use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use super::{Destination, FailureKind, OpError, ServerInfo, Session};
use crate::config::DestinationSettings;

/// Delivers into a local folder, creating it if needed.
pub struct LocalFolder {
    info: ServerInfo,
    link: bool,
}

impl LocalFolder {
    /// The local destination `settings` describes.
    pub fn new(settings: &DestinationSettings) -> Self {
        let mut info = ServerInfo::default();
        info.add("folder", settings.path.clone());
        LocalFolder {
            info,
            link: settings.link,
        }
    }
}

#[async_trait::async_trait]
impl Destination for LocalFolder {
    async fn connect(&self) -> Result<Box<dyn Session>, OpError> {
        Ok(Box::new(LocalSession {
            info: self.info.clone(),
            link: self.link,
        }))
    }
}

struct LocalSession {
    info: ServerInfo,
    link: bool,
}

fn io_error(what: String, e: std::io::Error) -> OpError {
    let kind = match e.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => FailureKind::Permission,
        ErrorKind::NotFound => FailureKind::NotFound,
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => FailureKind::DiskFull,
        _ => FailureKind::Refused,
    };
    let advice = match kind {
        FailureKind::Permission => "; give the account ferry runs as write access to the folder",
        FailureKind::DiskFull => "; free space on that disk",
        _ => "",
    };
    OpError::new(kind, format!("{what}: {e}{advice}"))
}

/// Links `remote` to `file` (already synced when it was written), made
/// read-only first; the size of what is now at `remote`. A file already at
/// `remote` (the `direct` and `marker` strategies write the final name) is
/// replaced, unless it is this very file.
fn share(file: &Path, remote: &Path) -> std::io::Result<u64> {
    let meta = std::fs::metadata(file)?;
    if let Ok(there) = std::fs::metadata(remote) {
        if same_file(&meta, &there) {
            return Ok(meta.len());
        }
        std::fs::remove_file(remote)?;
    }
    let mut perms = meta.permissions();
    if !perms.readonly() {
        perms.set_readonly(true);
        std::fs::set_permissions(file, perms)?;
    }
    std::fs::hard_link(file, remote)?;
    Ok(meta.len())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Copies `file` to `remote` and syncs it. The copy is the receiver's to
/// change, so it is writable by its owner even when `file` is a read-only
/// kept file.
fn copy(file: &Path, remote: &Path) -> std::io::Result<u64> {
    // Copying a file onto a link to itself would empty it.
    if let (Ok(a), Ok(b)) = (std::fs::metadata(file), std::fs::metadata(remote)) {
        if same_file(&a, &b) {
            std::fs::remove_file(remote)?;
        }
    }
    let n = std::fs::copy(file, remote)?;
    let copied = std::fs::File::open(remote)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut perms = copied.metadata()?.permissions();
        if perms.mode() & 0o200 == 0 {
            perms.set_mode(perms.mode() | 0o200);
            copied.set_permissions(perms)?;
        }
    }
    copied.sync_all()?;
    Ok(n)
}

#[async_trait::async_trait]
impl Session for LocalSession {
    fn info(&self) -> &ServerInfo {
        &self.info
    }

    async fn mkdir_all(&mut self, dir: &str) -> Result<(), OpError> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(format!("cannot create folder {dir}"), e))
    }

    async fn upload(&mut self, file: &Path, remote: &str, _deadline: Duration) -> Result<u64, OpError> {
        let (file, remote, link) = (file.to_path_buf(), remote.to_string(), self.link);
        tokio::task::spawn_blocking(move || {
            if link {
                match share(&file, Path::new(&remote)) {
                    Ok(n) => return Ok(n),
                    Err(e) => tracing::debug!(error = %e, to = %remote, "Cannot link the file; copying it."),
                }
            }
            copy(&file, Path::new(&remote)).map_err(|e| io_error(format!("cannot write {remote}"), e))
        })
        .await
        .map_err(|e| OpError::new(FailureKind::Local, format!("the copy crashed: {e}")))?
    }

    async fn size(&mut self, remote: &str) -> Result<Option<u64>, OpError> {
        match std::fs::metadata(remote) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(format!("cannot read {remote}"), e)),
        }
    }

    async fn rename(&mut self, from: &str, to: &str) -> Result<(), OpError> {
        std::fs::rename(from, to).map_err(|e| io_error(format!("cannot rename {from} to {to}"), e))?;
        // Renaming a link over another link to the same file does nothing
        // (POSIX), which happens when a kept file is resent to where its
        // link still is: the temporary name is left to remove.
        if std::fs::symlink_metadata(from).is_ok() {
            std::fs::remove_file(from).map_err(|e| io_error(format!("cannot remove {from}"), e))?;
        }
        // The rename is durable before the delivery is recorded.
        if let Some(dir) = Path::new(to).parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    async fn remove(&mut self, remote: &str) -> Result<(), OpError> {
        std::fs::remove_file(remote).map_err(|e| io_error(format!("cannot remove {remote}"), e))
    }

    async fn list(&mut self, dir: &str) -> Result<Vec<String>, OpError> {
        let entries = std::fs::read_dir(dir).map_err(|e| io_error(format!("cannot list {dir}"), e))?;
        Ok(entries
            .filter_map(std::result::Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect())
    }

    async fn close(&mut self) {}
}
