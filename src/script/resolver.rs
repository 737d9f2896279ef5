//! Where `import "name" as x;` looks: the scripts folder's `lib/`, then
//! `stdlib/`. Paths are plain relative names; `..` and absolute paths are
//! refused so a script cannot read files outside those folders.

use std::path::Path;

use rhai::module_resolvers::FileModuleResolver;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Shared};

/// Resolves imports inside the allowed folders only.
pub(super) struct SandboxResolver {
    folders: Vec<FileModuleResolver>,
    names: String,
}

impl SandboxResolver {
    /// Searches `folders` in order.
    pub(super) fn new(folders: &[&Path]) -> Self {
        SandboxResolver {
            folders: folders.iter().map(|f| FileModuleResolver::new_with_path(*f)).collect(),
            names: folders
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

fn allowed(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path.split('/').all(|part| {
            !part.is_empty()
                && part != ".."
                && part != "."
                && part.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c))
        })
}

impl ModuleResolver for SandboxResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        if !allowed(path) {
            return Err(EvalAltResult::ErrorRuntime(
                format!("import \"{path}\": module names are plain names like \"oneroster\" or \"vendor/acme\" (no .., no absolute paths)").into(),
                pos,
            )
            .into());
        }
        for folder in &self.folders {
            match folder.resolve(engine, source, path, pos) {
                Err(e) if matches!(*e, EvalAltResult::ErrorModuleNotFound(..)) => continue,
                other => return other,
            }
        }
        Err(EvalAltResult::ErrorRuntime(
            format!("import \"{path}\": no module {path}.rhai in {}", self.names).into(),
            pos,
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_relative_names() {
        assert!(super::allowed("oneroster"));
        assert!(super::allowed("vendor/acme-v2"));
        assert!(!super::allowed("../secrets"));
        assert!(!super::allowed("/etc/passwd"));
        assert!(!super::allowed("a//b"));
    }
}
