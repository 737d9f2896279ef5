//! The primitive reference in docs/scripting.md is generated from the
//! primitives' descriptors: each `const NAME: Primitive` in src/script/api/
//! carries its section of the reference as its doc comment, and
//! `PRIMITIVES` in src/script/api/mod.rs gives the order. This test fails
//! when the committed document differs from what the descriptors say;
//! `UPDATE_DOCS=1 cargo test --test main reference` writes it.

use std::path::Path;

use crate::harness::repo;

const BEGIN: &str = "<!-- The primitives below are generated from their descriptors' doc comments in src/script/api/: edit them there, then run `UPDATE_DOCS=1 cargo test --test main reference`. -->\n\n";
const END: &str = "<!-- End of the generated primitives. -->\n";

/// `module::IDENT` entries of the `PRIMITIVES` list, in order.
fn descriptors(api: &Path) -> Vec<(String, String)> {
    let list = std::fs::read_to_string(api.join("mod.rs")).unwrap();
    let open = "const PRIMITIVES: &[Primitive] = &[";
    let start = list.find(open).expect("PRIMITIVES in src/script/api/mod.rs") + open.len();
    let body = &list[start..];
    let body = &body[..body.find("];").unwrap()];
    body.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (module, ident) = e
                .split_once("::")
                .unwrap_or_else(|| panic!("'{e}' is not module::IDENT"));
            (module.to_string(), ident.to_string())
        })
        .collect()
}

/// The doc comment directly above `const IDENT: Primitive` in `file`.
fn doc_of(file: &Path, ident: &str) -> String {
    let source = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = source.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(&format!("const {ident}: Primitive")))
        .unwrap_or_else(|| panic!("{} defines no const {ident}: Primitive", file.display()));
    let mut doc: Vec<&str> = lines[..at]
        .iter()
        .rev()
        .skip_while(|l| l.starts_with("#[") || (l.starts_with("//") && !l.starts_with("///")))
        .take_while(|l| l.starts_with("///"))
        .map(|l| l.strip_prefix("/// ").unwrap_or(&l[3..]))
        .collect();
    doc.reverse();
    assert!(
        doc.first().is_some_and(|l| l.starts_with("### ")),
        "{}: the doc comment of {ident} must start with its heading (### `name(args)`)",
        file.display()
    );
    doc.join("\n")
}

/// The reference as the descriptors say it.
fn generated() -> String {
    let api = repo().join("src/script/api");
    let sections: Vec<String> = descriptors(&api)
        .iter()
        .map(|(module, ident)| doc_of(&api.join(format!("{module}.rs")), ident))
        .collect();
    format!("{BEGIN}{}\n\n{END}", sections.join("\n\n"))
}

#[test]
fn the_primitive_reference_in_docs_is_generated_from_the_descriptors() {
    let path = repo().join("docs/scripting.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc
        .find(BEGIN)
        .expect("docs/scripting.md has the generated section's opening marker");
    let end = doc
        .find(END)
        .expect("docs/scripting.md has the generated section's closing marker")
        + END.len();
    let want = generated();
    if doc[start..end] == want {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{want}{}", &doc[..start], &doc[end..])).unwrap();
        return;
    }
    let first = doc[start..end]
        .lines()
        .zip(want.lines())
        .position(|(a, b)| a != b)
        .map_or_else(|| "at the end".to_string(), |i| format!("at generated line {}", i + 1));
    panic!(
        "docs/scripting.md's primitive reference differs from the descriptors' doc comments ({first}); \
         edit the doc comment in src/script/api/, then run `UPDATE_DOCS=1 cargo test --test main reference`"
    );
}

#[test]
fn every_primitive_has_a_section_and_the_list_names_every_descriptor() {
    let api = repo().join("src/script/api");
    let listed = descriptors(&api);
    for entry in std::fs::read_dir(&api).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        let module = path.file_stem().unwrap().to_string_lossy().to_string();
        for line in source.lines().filter(|l| l.contains(": Primitive = Primitive {")) {
            let ident = line.split("const ").nth(1).unwrap().split(':').next().unwrap();
            assert!(
                listed.contains(&(module.clone(), ident.to_string())),
                "{module}::{ident} is not in PRIMITIVES (src/script/api/mod.rs)"
            );
        }
    }
}
