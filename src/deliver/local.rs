//! A folder on this machine (or a mounted share): copy to a temporary name in
//! the folder, flush to disk, rename into place.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::{Delivered, DeliveryError, Destination};

/// Delivers into a local folder, creating it if needed.
pub struct LocalFolder {
    name: String,
    dir: PathBuf,
}

impl LocalFolder {
    /// The destination called `name` writing into `dir`.
    pub fn new(name: &str, dir: &Path) -> Self {
        LocalFolder {
            name: name.to_string(),
            dir: dir.to_path_buf(),
        }
    }

    fn put_sync(&self, file: &Path, name: &str) -> Result<Delivered, DeliveryError> {
        let fail = |what: &str, e: std::io::Error| DeliveryError {
            destination: self.name.clone(),
            message: format!("{what}: {e}"),
            retryable: false,
        };
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| fail(&format!("cannot create folder {}", self.dir.display()), e))?;
        let target = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}.{}.partial", std::process::id()));
        let copied = (|| {
            let bytes = std::fs::copy(file, &temp)?;
            std::fs::File::open(&temp)?.sync_all()?;
            Ok::<u64, std::io::Error>(bytes)
        })();
        let expected = std::fs::metadata(file).map(|m| m.len()).ok();
        match copied {
            Ok(n) if Some(n) == expected => {}
            Ok(n) => {
                let _ = std::fs::remove_file(&temp);
                return Err(DeliveryError {
                    destination: self.name.clone(),
                    message: format!("copied {n} bytes of {name} but the file has {expected:?}"),
                    retryable: true,
                });
            }
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                return Err(fail(&format!("cannot write {}", temp.display()), e));
            }
        }
        std::fs::rename(&temp, &target).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            fail(&format!("cannot rename into {}", target.display()), e)
        })?;
        Ok(Delivered {
            remote_path: target.display().to_string(),
        })
    }
}

impl Destination for LocalFolder {
    fn put<'a>(&'a self, file: &'a Path, name: &'a str) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move { self.put_sync(file, name) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrives_whole_under_its_name_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.csv");
        std::fs::write(&src, b"a,b\r\n1,2\r\n").unwrap();
        let dest = LocalFolder::new("out", &dir.path().join("out"));
        let d = dest.put_sync(&src, "roster.csv").unwrap();
        assert!(d.remote_path.ends_with("out/roster.csv"));
        assert_eq!(
            std::fs::read(dir.path().join("out/roster.csv")).unwrap(),
            b"a,b\r\n1,2\r\n"
        );
        // Overwrites in place.
        std::fs::write(&src, b"x\r\n").unwrap();
        dest.put_sync(&src, "roster.csv").unwrap();
        assert_eq!(std::fs::read(dir.path().join("out/roster.csv")).unwrap(), b"x\r\n");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["roster.csv"]);
    }
}
