//! The runtime's source is in layers (docs/architecture.md): each top-level
//! module uses only the layers below it, and no file depends on another that
//! depends back on it. This test reads the source and fails on a `crate::` path
//! that breaks either rule, so the architecture cannot drift silently.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may use modules of its own rank or below.
const LAYERS: &[(&str, u8)] = &[
    ("base", 0),
    ("genai", 1),
    ("export", 2),
    ("pipeline", 3),
    ("span", 4),
    ("context", 5),
    ("macro_support", 5),
    ("openai", 5),
    ("ollama", 5),
    ("setup", 6),
    ("logging", 6),
    ("testing", 7),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src`, as a module path (`span/guard.rs` → `span::guard`).
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src(), &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(src()).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|l| l == "mod") {
                parts.pop();
            }
            (parts.join("::"), p)
        })
        .collect()
}

/// The code of a file without comments and its unit tests.
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = text.split("\n#[cfg(test)]\nmod tests").next().unwrap();
    text.lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a file names through `crate::` paths and `use crate::{..}` groups,
/// resolved to the longest module path that exists.
fn dependencies(code: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        for n in (1..=segments.len()).rev() {
            let candidate = segments[..n].join("::");
            if known.contains_key(&candidate) {
                out.insert(candidate);
                break;
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let known = modules();
    known
        .iter()
        .filter(|(m, _)| !m.is_empty()) // lib.rs: the public surface re-exports everything
        .map(|(m, p)| {
            let mut deps = dependencies(&code(p), &known);
            deps.remove(m);
            (m.clone(), deps)
        })
        .collect()
}

fn rank(module: &str) -> u8 {
    let top = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .unwrap_or_else(|| panic!("module `{top}` is in no layer: add it to LAYERS and docs/architecture.md"))
        .1
}

#[test]
fn every_module_uses_only_its_own_layer_or_the_ones_below() {
    let mut wrong = Vec::new();
    for (m, deps) in graph() {
        for d in deps {
            if rank(&d) > rank(&m) {
                wrong.push(format!("{m} uses {d}"));
            }
        }
    }
    assert!(wrong.is_empty(), "upward dependencies:\n{}", wrong.join("\n"));
}

/// Every import cycle of `g`, each as `a -> b -> ... -> a`.
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    // A folder's mod.rs declares its children: that edge is not a dependency.
    fn is_parent(a: &str, b: &str) -> bool {
        b.starts_with(&format!("{a}::"))
    }
    // Depth-first search from every file; a file seen again on the current path closes a cycle.
    fn visit<'a>(
        n: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        found: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|p| *p == n) {
            found.push(format!("{} -> {n}", path[at..].join(" -> ")));
            return;
        }
        if !done.insert(n) {
            return;
        }
        path.push(n);
        for d in g.get(n).into_iter().flatten() {
            if !is_parent(n, d) {
                visit(d, g, path, done, found);
            }
        }
        path.pop();
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for n in g.keys() {
        visit(n, g, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn no_import_cycle_between_files() {
    let found = cycles(&graph());
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle_and_spares_mod_rs() {
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("span", vec!["span::guard"]),
        ("span::guard", vec!["span::stream", "span"]),
        ("span::stream", vec!["span::guard"]),
    ]
    .into_iter()
    .map(|(m, d)| (m.to_string(), d.into_iter().map(String::from).collect()))
    .collect();
    let found = cycles(&g);
    assert!(
        found
            .iter()
            .any(|c| c.contains("span::guard -> span::stream -> span::guard")),
        "{found:?}"
    );
    let mut g = g;
    g.get_mut("span::stream").unwrap().clear();
    assert!(
        cycles(&g).is_empty(),
        "a mod.rs declaring its child is not a dependency"
    );
}

#[test]
fn the_dependency_reader_resolves_paths_to_files() {
    let known: BTreeMap<String, PathBuf> = ["span", "span::guard", "genai::semconv"]
        .iter()
        .map(|m| (m.to_string(), PathBuf::new()))
        .collect();
    let deps = dependencies(
        "use crate::span::guard::SpanGuard;\nlet x = crate::genai::semconv::ERROR_TYPE;",
        &known,
    );
    assert_eq!(deps.into_iter().collect::<Vec<_>>(), ["genai::semconv", "span::guard"]);
}
