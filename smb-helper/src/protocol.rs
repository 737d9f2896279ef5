//! The line protocol between ferry and this helper: one JSON object per line
//! each way. Requests mirror ferry's `Session` trait; every reply echoes the
//! request's `id`, so ferry can drop a reply that arrives after it gave up
//! waiting for it.

use serde::{Deserialize, Serialize};

/// One request line: `{"id": 1, "op": "...", ...}`.
#[derive(Deserialize)]
pub struct Envelope {
    /// Echoed in the reply.
    pub id: u64,
    /// What to do.
    #[serde(flatten)]
    pub request: Request,
}

/// What ferry asks for. Paths are ferry's (`/SHARE/folder/file`), so error
/// messages name them as the user configured them. No `Debug`: `Connect`
/// carries the password.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Connect, negotiate, log in (NTLM) and connect to the share. Must come first.
    Connect {
        server: String,
        port: u16,
        username: String,
        password: String,
        domain: Option<String>,
        share: String,
        timeout_ms: u64,
    },
    /// Create a folder and its missing parents.
    MkdirAll { path: String },
    /// Copy a local file to `remote`, replacing it; each block written within `block_timeout_ms`.
    Upload {
        local: String,
        remote: String,
        block_timeout_ms: u64,
    },
    /// The size of a file, or null when it does not exist.
    Size { path: String },
    /// Rename, replacing the target if it exists.
    Rename { from: String, to: String },
    /// Remove a file.
    Remove { path: String },
    /// Entry names of a folder.
    List { path: String },
    /// Disconnect and exit.
    Close,
}

/// A failure: `kind` is one of ferry's `FailureKind` names.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// network, timeout, busy, auth, permission, not_found, disk_full, trust,
    /// algorithms, refused, local.
    pub kind: String,
    /// What happened and what to do; never the password.
    pub message: String,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        Failure {
            kind: kind.to_string(),
            message: message.into(),
        }
    }
}

/// What the server told us while connecting.
#[derive(Serialize, Default)]
pub struct Connected {
    /// The negotiated dialect, e.g. `3.1.1`.
    pub dialect: String,
    /// The name the server was reached by.
    pub server_name: String,
    /// The server's GUID from its negotiate response.
    pub server_guid: String,
    /// Signing algorithm, when the dialect negotiates one.
    pub signing: Option<String>,
    /// Encryption cipher, when the dialect negotiates one.
    pub encryption: Option<String>,
    /// The largest write the server accepts.
    pub max_write_size: u32,
    /// The block size uploads use.
    pub block_size: u32,
}

/// Encodes a reply line (without the newline).
pub fn reply(id: u64, result: Result<serde_json::Value, Failure>) -> String {
    let value = match result {
        Ok(v) => serde_json::json!({ "id": id, "ok": v }),
        Err(f) => serde_json::json!({ "id": id, "error": f }),
    };
    value.to_string()
}
