//! The sidecar files a destination sends beside each data file
//! (`sidecars = ["sha256", "manifest.json"]`), as ferry.toml names them.
//! `format::sidecar` writes them; the names live here, with the settings
//! that choose them, so that reading the configuration needs no writer.

/// A checksum a receiver asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// SHA-256, the default and the one to prefer.
    Sha256,
    /// MD5, for receivers that still ask for it.
    Md5,
}

impl Checksum {
    /// The checksum file's extension, also the algorithm's name in ferry.toml.
    pub fn ext(self) -> &'static str {
        match self {
            Checksum::Sha256 => "sha256",
            Checksum::Md5 => "md5",
        }
    }
}

impl std::str::FromStr for Checksum {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sha256" => Ok(Checksum::Sha256),
            "md5" => Ok(Checksum::Md5),
            _ => Err(format!("checksum \"{s}\" is not valid: \"sha256\" or \"md5\"")),
        }
    }
}

/// The manifest's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manifest {
    /// A header line and one line of values.
    Csv,
    /// One JSON object.
    Json,
}

impl std::str::FromStr for Manifest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(Manifest::Csv),
            "json" => Ok(Manifest::Json),
            _ => Err(format!("manifest \"{s}\" is not valid: \"csv\" or \"json\"")),
        }
    }
}

/// The sidecars a destination sends with every file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sidecars {
    /// Checksum files, in the order they are sent.
    pub checksums: Vec<Checksum>,
    /// The manifest, sent last.
    pub manifest: Option<Manifest>,
}

impl Sidecars {
    /// Whether there is nothing to send beside the data.
    pub fn is_empty(&self) -> bool {
        self.checksums.is_empty() && self.manifest.is_none()
    }

    /// The sidecars' file names for the data file `name`, in sending order.
    pub fn names(&self, name: &str) -> Vec<String> {
        let mut names: Vec<String> = self.checksums.iter().map(|c| format!("{name}.{}", c.ext())).collect();
        if let Some(m) = self.manifest {
            names.push(format!(
                "{name}.manifest.{}",
                match m {
                    Manifest::Csv => "csv",
                    Manifest::Json => "json",
                }
            ));
        }
        names
    }
}
