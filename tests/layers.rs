//! The module layering ARCHITECTURE.md promises, checked on the source: a
//! module may use the modules below it, never one above it, so that each
//! layer can be understood, tested and reused (by the CLI, the server and the
//! Python bindings) without the ones above.

use std::collections::BTreeSet;
use std::path::Path;

/// The library's top-level modules from the bottom up; a module may import
/// those on lower rows and its own row's leaf neighbours only if listed there.
const LAYERS: &[&[&str]] = &[
    &["error", "names", "digest", "vectors", "progress"],
    &["corpus"],
    &["encoder"],
    &["index"],
    &["lexical"],
    &["knowledge"],
    &["select", "pick"],
    &["pipeline"],
    &["prompt"],
    &["backend"],
    &["eval"],
    &["run", "bench"],
    &["compare"],
    &["serve"],
    &["cli"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

/// The top-level module a source file belongs to (`src/index/graph.rs` → `index`).
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().expect("a path under src/");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// Every `crate::NAME` the file mentions, comments included (a doc link
/// upward is an upward dependency of the reader's understanding too).
fn crate_paths(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let grouped = after.starts_with('{');
        if grouped {
            let end = after.find('}').unwrap_or(after.len());
            for item in after[1..end].split(',') {
                let head: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !head.is_empty() {
                    found.insert(head);
                }
            }
        } else if !name.is_empty() {
            found.insert(name);
        }
        rest = after;
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let module = module_of(relative);
        let Some(own) = rank(&module) else {
            // lib.rs and main.rs sit above every module.
            continue;
        };
        let source = std::fs::read_to_string(file).expect("readable source");
        for used in crate_paths(&source) {
            match rank(&used) {
                Some(r) if r > own || (r == own && used != module && own != 0) => {
                    upward.push(format!("{} uses crate::{used}", relative.display()))
                }
                _ => {}
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layering (see LAYERS in tests/layers.rs and ARCHITECTURE.md):\n{}",
        upward.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let unplaced: Vec<&str> = lib
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';'))
        })
        .filter(|module| rank(module).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules with no layer in tests/layers.rs: {unplaced:?}"
    );
}

#[test]
fn the_checker_sees_grouped_and_plain_paths() {
    let found = crate_paths("use crate::{index::Index, select::Demo};\nlet x = crate::run::plan();");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["index", "run", "select"]);
}
