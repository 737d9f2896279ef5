//! [`App`]: what every run, the daemon, the console and the CLI share
//! (settings, databases, the state store and this process's registration).
//! It has its own module, below `run`, so that the services can name it
//! without importing the run machinery; running a script is added to it by
//! `run` (`App::run`, `App::execute`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Settings;
use crate::source::Databases;
use crate::state::{Instance, StateError, Store};

/// The configuration, databases and history, shared by every run.
pub struct App {
    /// Validated configuration.
    pub settings: Arc<Settings>,
    /// Databases, connected on first use.
    pub databases: Arc<Databases>,
    /// History.
    pub store: Store,
    /// This process in the state store.
    pub instance: Instance,
}

impl App {
    /// Opens the state store and registers this process (`role` is
    /// `serve` or `cli`) with a heartbeat; databases connect later, when a
    /// query needs them.
    pub async fn open(settings: Settings, role: &'static str) -> Result<App, StateError> {
        let store = Store::open(&settings.state).await?;
        let instance = store.register_instance(role).await?;
        let (s, i) = (store.clone(), instance.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                if let Err(e) = crate::metrics::timed("heartbeat", s.heartbeat(&i)).await {
                    tracing::warn!(error = %e, "Heartbeat to the state store failed.");
                }
            }
        });
        Ok(App {
            databases: Arc::new(Databases::new(settings.databases.clone())),
            settings: Arc::new(settings),
            store,
            instance,
        })
    }

    /// The same process, store and instance with a new configuration (the
    /// daemon's reload of ferry.toml); databases reconnect on first use.
    pub fn reconfigured(&self, settings: Settings) -> App {
        App {
            databases: Arc::new(Databases::new(settings.databases.clone())),
            settings: Arc::new(settings),
            store: self.store.clone(),
            instance: self.instance.clone(),
        }
    }

    /// Every right ferry knows: the console's tool rights, the ad hoc
    /// filter right and those the data model's sensitive fields ask for.
    /// Rights are a closed set, so a misspelt grant is refused, not stored.
    pub fn known_rights(&self) -> Vec<String> {
        let mut rights: Vec<String> = crate::state::ToolRight::ALL
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        rights.push(crate::filter::ADHOC_RIGHT.to_string());
        if let Ok(filters) = crate::filter::Filters::open(&self.settings.filters_dir) {
            for entity in filters.model.entities.values() {
                for right in entity.fields.values().filter_map(|f| f.right.as_ref()) {
                    if !rights.contains(right) {
                        rights.push(right.clone());
                    }
                }
            }
        }
        rights
    }

    /// Refuses a right ferry does not know, listing the ones it does.
    pub fn check_right(&self, right: &str) -> Result<(), String> {
        let known = self.known_rights();
        if known.iter().any(|r| r == right) {
            return Ok(());
        }
        Err(format!(
            "'{right}' is not a right; the rights are {} (data rights come from the sensitive fields of {})",
            known.join(", "),
            self.settings.filters_dir.join("model.toml").display()
        ))
    }

    /// The file a command-line name refers to: a path, or a script id in the
    /// scripts folder.
    pub fn script_path(&self, name: &str) -> PathBuf {
        let p = Path::new(name);
        if p.extension().is_some() || p.components().count() > 1 {
            p.to_path_buf()
        } else {
            crate::config::ScriptsDir::of(&self.settings).path_of(name)
        }
    }
}
