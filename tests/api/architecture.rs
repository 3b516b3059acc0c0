//! The arrows between modules point one way: a round's steps import only the worker's leaves
//! and the steps after them, and lower layers never import the HTTP layer.

use std::path::{Path, PathBuf};

/// The worker's leaves: every step may import them; they import no step.
const LEAVES: &[&str] = &["work", "context", "retry"];

/// A round's steps in the order data flows.
const STEPS: &[&str] = &["claim", "observe", "resolve", "plan", "write", "record"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The worker modules a file imports (`super::x`, `super::super::x`, `crate::worker::x`).
fn worker_imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in ["super::super::", "crate::worker::", "super::"] {
        for (at, _) in text.match_indices(prefix) {
            if prefix == "super::" && text[..at].ends_with("super::") {
                continue;
            }
            let rest = &text[at + prefix.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != "super" {
                found.push(name);
            }
        }
    }
    found
}

fn files_of(module: &str) -> Vec<PathBuf> {
    let dir = src().join("worker");
    let single = dir.join(format!("{module}.rs"));
    if single.exists() {
        return vec![single];
    }
    std::fs::read_dir(dir.join(module))
        .unwrap_or_else(|e| panic!("worker module {module} has no file or folder: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

#[test]
fn worker_steps_import_only_leaves_and_later_steps() {
    for (position, step) in STEPS.iter().enumerate() {
        let allowed: Vec<&str> = LEAVES.iter().chain(&STEPS[position..]).copied().collect();
        for file in files_of(step) {
            let text = std::fs::read_to_string(&file).unwrap();
            for import in worker_imports(&text) {
                let inside_step_folder = file.parent().is_some_and(|p| p.ends_with(step))
                    && files_of(step)
                        .iter()
                        .any(|f| f.file_stem().unwrap() == import.as_str());
                assert!(
                    allowed.contains(&import.as_str()) || inside_step_folder,
                    "{} (step {step}) imports worker module {import:?}, which comes before it or is not a leaf",
                    file.display()
                );
            }
        }
    }
    for leaf in LEAVES {
        for file in files_of(leaf) {
            let text = std::fs::read_to_string(&file).unwrap();
            for import in worker_imports(&text) {
                assert!(
                    LEAVES.contains(&import.as_str()),
                    "{} (a leaf) imports worker module {import:?}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn lower_layers_never_import_http() {
    for layer in ["config", "store", "sync", "connectors", "worker"] {
        let mut pending = vec![src().join(layer)];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    !text.contains("crate::http"),
                    "{} imports from the HTTP layer",
                    path.display()
                );
            }
        }
    }
}
