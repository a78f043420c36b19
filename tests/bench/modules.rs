//! The load bench's modules import one another one way only (issue 26): no circle, `shared`
//! a leaf, and the servers under test independent of the client side that measures them.
//!
//! Reads the bench's sources (`load/`), takes every `crate::NAME` path outside comments as an
//! import of module `NAME` (a `crate::` path to an item of `main.rs` as an import of the
//! root, which declares and drives every module), and checks the graph. `cargo test -p sse-bench` runs it; the bench itself is not
//! built by `cargo test`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name → the modules it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("load");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("load/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).expect("subfolder") {
                let inner = inner.expect("entry").path();
                if inner.extension().is_some_and(|e| e == "rs") {
                    files.push(inner);
                }
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    // A module is a file in load/ or a folder of it (`servers/`: its files are one module).
    let module_of = |path: &Path| -> String {
        let relative = path.strip_prefix(&dir).expect("under load/");
        let first = relative.components().next().expect("a component");
        first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned()
    };
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(file);
        let source = std::fs::read_to_string(file).expect("read");
        let edges = graph.entry(from.clone()).or_default();
        for line in source.lines() {
            let code = line.split("//").next().unwrap_or("");
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    group
                        .split('}')
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap_or("").trim())
                        .collect()
                } else {
                    let end = rest
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    vec![&rest[..end]]
                };
                for name in names.into_iter().filter(|n| !n.is_empty()) {
                    let to = if modules.contains(name) {
                        name.to_owned()
                    } else {
                        "main".to_owned()
                    };
                    if to != from {
                        edges.insert(to);
                    }
                }
            }
        }
    }
    // The root declares and drives every module: an import of the root is a circle.
    let all: BTreeSet<String> = modules.iter().filter(|m| *m != "main").cloned().collect();
    graph.entry("main".to_owned()).or_default().extend(all);
    graph
}

/// A path that comes back to where it started, if any.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// Every module `from` reaches.
fn reach(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(node) = todo.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn the_bench_modules_form_no_circle() {
    let graph = graph();
    // Sanity: the parser sees the imports it must see.
    assert!(graph["scenarios"].contains("shared"), "{graph:?}");
    assert!(graph["servers"].contains("shared"), "{graph:?}");
    assert_eq!(find_circle(&graph), None, "import graph: {graph:#?}");
}

#[test]
fn shared_is_a_leaf_and_the_servers_do_not_import_the_client_side() {
    let graph = graph();
    assert_eq!(
        graph["shared"],
        BTreeSet::new(),
        "shared imports {:?}",
        graph["shared"]
    );
    let servers = reach(&graph, "servers");
    let allowed: BTreeSet<String> = ["shared", "procs"].map(String::from).into();
    assert!(
        servers.is_subset(&allowed),
        "servers reaches {servers:?}, beyond {allowed:?}"
    );
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    graph.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(
        find_circle(&graph),
        Some(
            vec!["a", "b", "c", "a"]
                .into_iter()
                .map(String::from)
                .collect()
        )
    );
}
