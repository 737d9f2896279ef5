//! A folder on this machine (or a mounted share). Remote paths are the local
//! absolute paths; the commit strategies work here exactly as on a server.

use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use super::{Destination, FailureKind, OpError, ServerInfo, Session};
use crate::config::DestinationSettings;

/// Delivers into a local folder, creating it if needed.
pub struct LocalFolder {
    info: ServerInfo,
}

impl LocalFolder {
    /// The local destination `settings` describes.
    pub fn new(settings: &DestinationSettings) -> Self {
        let mut info = ServerInfo::default();
        info.add("folder", settings.path.clone());
        LocalFolder { info }
    }
}

#[async_trait::async_trait]
impl Destination for LocalFolder {
    async fn connect(&self) -> Result<Box<dyn Session>, OpError> {
        Ok(Box::new(LocalSession {
            info: self.info.clone(),
        }))
    }
}

struct LocalSession {
    info: ServerInfo,
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

#[async_trait::async_trait]
impl Session for LocalSession {
    fn info(&self) -> &ServerInfo {
        &self.info
    }

    async fn mkdir_all(&mut self, dir: &str) -> Result<(), OpError> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(format!("cannot create folder {dir}"), e))
    }

    async fn upload(&mut self, file: &Path, remote: &str, _deadline: Duration) -> Result<u64, OpError> {
        let (file, remote) = (file.to_path_buf(), remote.to_string());
        tokio::task::spawn_blocking(move || {
            let copied = std::fs::copy(&file, &remote).and_then(|n| {
                std::fs::File::open(&remote)?.sync_all()?;
                Ok(n)
            });
            copied.map_err(|e| io_error(format!("cannot write {remote}"), e))
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
        std::fs::rename(from, to).map_err(|e| io_error(format!("cannot rename {from} to {to}"), e))
    }

    async fn remove(&mut self, remote: &str) -> Result<(), OpError> {
        std::fs::remove_file(remote).map_err(|e| io_error(format!("cannot remove {remote}"), e))
    }

    async fn list(&mut self, dir: &str) -> Result<Vec<String>, OpError> {
        let entries = std::fs::read_dir(dir).map_err(|e| io_error(format!("cannot list {dir}"), e))?;
        Ok(entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect())
    }

    async fn close(&mut self) {}
}
