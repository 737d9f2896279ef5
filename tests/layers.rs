//! The layering check: a module may use modules of its own layer or of the
//! layers below it, never of a layer above. Cycles between layers are what
//! make a codebase hard to enter (you cannot read one part without the rest),
//! so this test fails, naming the file and line, when an import points up.
//! The table is also in docs/architecture.md; keep the two the same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first, and the top-level modules of `src/` in each.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &[
            "location", "cancel", "demo", "keys", "config", "source", "schedule", "format", "filter", "schema",
            "guard", "bundle", "report", "openpgp", "deliver", "metrics",
        ],
    ),
    ("state", &["state"]),
    ("app", &["app"]),
    ("jobs", &["script", "run", "notice"]),
    ("services", &["daemon", "catalog", "admin", "doctor"]),
    ("web", &["web"]),
    ("cli", &["cli", "main", "lib"]),
];

/// Imports that point up and are accepted, with the reason. Keep it tiny.
const ALLOWED: &[(&str, &str, &str)] = &[];

/// Groups of modules in one layer that import each other, as printed below.
/// `script` runs inside `run` and reaches back for the run's context and
/// its delivery step; `notice` words its messages from the script. A new
/// cycle fails the check: break it, or list it here with a reason.
const KNOWN_CYCLES: &[&str] = &["notice <-> run <-> script"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text with comments and string literals blanked (newlines kept, so
/// offsets still give line numbers): a path in a doc comment or a message
/// is not an import.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(if b[i] == b'\n' { '\n' } else { ' ' });
                    i += 1;
                }
            }
        } else if b[i] == b'"' && (i == 0 || (b[i - 1] != b'\'' && b[i - 1] != b'r' && b[i - 1] != b'#')) {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                if i < b.len() && b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
        } else if b[i..].starts_with(b"r#\"") {
            i += 3;
            while i < b.len() && !b[i..].starts_with(b"\"#") {
                if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every top-level module named after `crate::` (also inside `crate::{a, b::c}`),
/// with the byte offset where it is named.
fn crate_refs(code: &str) -> Vec<(usize, String)> {
    let mut refs = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("crate::") {
        let at = from + found;
        from = at + "crate::".len();
        let prefix_ok = at == 0 || !code.as_bytes()[at - 1].is_ascii_alphanumeric() && code.as_bytes()[at - 1] != b'_';
        if !prefix_ok {
            continue;
        }
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => start = true,
                    c if depth == 1 && start && (c.is_ascii_alphabetic() || c == '_') => {
                        refs.push((from + 1 + k, ident_at(&group[k..]).to_string()));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            refs.push((from, ident_at(rest).to_string()));
        }
    }
    refs
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unplaced = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy();
        let module = first.strip_suffix(".rs").unwrap_or(&first).to_string();
        let Some(own) = layer_of(&module) else {
            unplaced.insert(module);
            continue;
        };
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for (at, target) in crate_refs(&code) {
            if target == module || target == "self" || target == "super" {
                continue;
            }
            edges.entry(module.clone()).or_default().insert(target.clone());
            let Some(theirs) = layer_of(&target) else {
                unplaced.insert(target);
                continue;
            };
            if theirs > own && !ALLOWED.iter().any(|(a, b, _)| *a == module && *b == target) {
                let line = code[..at].matches('\n').count() + 1;
                violations.push(format!(
                    "src/{}:{line}: `{module}` ({}) imports `{target}` ({}), a layer above it",
                    rel.display(),
                    LAYERS[own].0,
                    LAYERS[theirs].0
                ));
            }
        }
    }
    let cycles = module_cycles(&edges);
    let pairs: Vec<String> = edges
        .iter()
        .flat_map(|(a, bs)| bs.iter().map(move |b| (a, b)))
        .filter(|(a, b)| a < b && edges.get(*b).is_some_and(|back| back.contains(*a)))
        .map(|(a, b)| format!("{a} <-> {b}"))
        .collect();
    println!(
        "{} pairs of modules that import each other: {}",
        pairs.len(),
        pairs.join(", ")
    );
    println!(
        "{} module cycles (mutually dependent groups of top-level modules):",
        cycles.len()
    );
    for c in &cycles {
        println!("  {}", c.join(" <-> "));
    }
    println!("{} imports from a layer above:", violations.len());
    for v in &violations {
        println!("  {v}");
    }
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS in tests/layers.rs and docs/architecture.md): {unplaced:?}"
    );
    assert!(
        violations.is_empty(),
        "imports from a layer above:\n{}",
        violations.join("\n")
    );
    let new: Vec<String> = cycles
        .iter()
        .map(|c| c.join(" <-> "))
        .filter(|c| !KNOWN_CYCLES.contains(&c.as_str()))
        .collect();
    assert!(
        new.is_empty(),
        "modules that import each other (break the cycle, or list it in KNOWN_CYCLES with why): {new:?}"
    );
}

/// Groups of top-level modules that reach each other (strongly connected
/// components with more than one member), for the report; cycles inside
/// one layer are allowed but counted.
fn module_cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.keys().chain(edges.values().flatten()).collect();
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for m in edges.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for n in &nodes {
        if groups.iter().any(|g| g.contains(n)) {
            continue;
        }
        let group: Vec<String> = nodes
            .iter()
            .filter(|m| *m == n || (reaches[*n].contains(**m) && reaches[*m].contains(*n)))
            .map(|m| (*m).clone())
            .collect();
        if group.len() > 1 {
            groups.push(group);
        }
    }
    groups
}
