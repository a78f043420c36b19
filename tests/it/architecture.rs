//! Checks `docs/architecture.md` against the code: its module list names every module of
//! the crate once, each line's "uses" are exactly the modules that module's `crate::`
//! paths name (submodules folded into their parent), and every module uses only modules
//! listed below it, except the documented `app` → `openapi` pair.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Imports that point up the list, each explained in the document.
const UPWARD: &[(&str, &str)] = &[("app", "openapi")];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sse-runtime/src")
}

/// The top-level module a source file belongs to (`None` for `lib.rs`).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src_dir()).ok()?;
    let rel = rel.to_string_lossy().replace('\\', "/");
    if rel == "lib.rs" {
        return None;
    }
    let first = rel.split('/').next()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its unit tests and comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names `crate::` paths in `code` start with (`crate::a::b`, `crate::{a, b}`).
fn crate_paths(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            for item in group.split(',') {
                let name = item.trim().split("::").next().unwrap_or_default();
                names.push(name.trim().to_owned());
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.push(name);
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// The crate's modules and what each one's `crate::` paths name.
fn actual_uses() -> BTreeMap<String, BTreeSet<String>> {
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).expect("lib.rs");
    let mut modules = BTreeSet::new();
    // Root re-exports: `crate::HttpError` names `http_error`.
    let mut reexports = BTreeMap::new();
    for line in lib.lines().map(str::trim) {
        let line = line.strip_prefix("pub ").unwrap_or(line);
        if let Some(name) = line.strip_prefix("mod ") {
            let name = name.trim_end_matches(';');
            // This check is not part of the architecture.
            if name != "architecture" {
                modules.insert(name.to_owned());
            }
        } else if let Some(path) = line.strip_prefix("use ") {
            let (module, items) = path.split_once("::").unwrap_or((path, ""));
            let items = items
                .trim_end_matches(';')
                .trim_matches(|c| c == '{' || c == '}');
            for item in items.split(',') {
                let item = item.trim();
                let item = item.rsplit(" as ").next().unwrap_or(item);
                reexports.insert(item.to_owned(), module.to_owned());
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut uses: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in files {
        let Some(module) = module_of(&file).filter(|m| modules.contains(m)) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("source file");
        for name in crate_paths(&code(&text)) {
            let target = if modules.contains(&name) {
                Some(name)
            } else {
                reexports
                    .get(&name)
                    .filter(|m| modules.contains(*m))
                    .cloned()
            };
            if let Some(target) = target.filter(|t| *t != module) {
                uses.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    uses
}

/// The document's module list, top to bottom: `module → what it is → uses`.
fn documented() -> Vec<(String, BTreeSet<String>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/architecture.md");
    let doc = std::fs::read_to_string(&path).expect("docs/architecture.md");
    let list = doc
        .split("<!-- modules:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- modules:end -->").next())
        .expect("the module list markers");
    list.lines()
        .filter(|line| line.contains('→'))
        .map(|line| {
            let fields: Vec<&str> = line.split('→').map(str::trim).collect();
            let module = fields[0].to_owned();
            let uses = fields[fields.len() - 1];
            let uses = if uses == "—" {
                BTreeSet::new()
            } else {
                uses.split(',').map(|u| u.trim().to_owned()).collect()
            };
            (module, uses)
        })
        .collect()
}

#[test]
fn docs_architecture_matches_the_use_lines() {
    let actual = actual_uses();
    let documented = documented();
    let listed: Vec<&str> = documented.iter().map(|(m, _)| m.as_str()).collect();
    let listed_set: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(listed.len(), listed_set.len(), "a module is listed twice");
    let modules: BTreeSet<&str> = actual.keys().map(String::as_str).collect();
    assert_eq!(
        listed_set, modules,
        "the list and the crate's modules differ"
    );
    for (position, (module, uses)) in documented.iter().enumerate() {
        assert_eq!(
            uses, &actual[module],
            "docs/architecture.md: what `{module}` uses"
        );
        for used in uses {
            let below = listed[position + 1..].contains(&used.as_str());
            let allowed = UPWARD.contains(&(module.as_str(), used.as_str()));
            assert!(
                below || allowed,
                "`{module}` uses `{used}`, which is not listed below it"
            );
        }
    }
}
