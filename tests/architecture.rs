//! The house follows the event: each module of the library imports only from
//! the stages before it in the flow, never from a later one, and no two
//! modules import each other. The order is written once, as data
//! ([`LAYERS`]), and checked on every `cargo test` by reading the
//! `crate::...` paths in `src/` (test code left out: a test may drive the
//! whole engine).
//!
//! A back edge that exists today and is scheduled to go is listed in
//! [`KNOWN_BACK_EDGES`] with its reason; the test fails on any back edge not
//! listed, and on a listed one that no longer exists (so the list only
//! shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of the library, in the order an event flows through them.
/// A module belongs to the layer of its longest listed prefix (so
/// `convert::signal`, the output half of the edge, sits above `convert`).
/// A module may import from its own layer and the layers before it.
const LAYERS: &[(&str, &[&str])] = &[
    ("wire types", &["pb"]),
    ("domain basics", &["clock", "event", "limits"]),
    ("input edge", &["convert", "io", "webhook"]),
    ("scan", &["scan"]),
    ("state", &["state"]),
    ("features", &["features"]),
    ("rules", &["rules"]),
    ("decide", &["decide"]),
    ("engine", &["engine", "snapshot", "replay"]),
    (
        "output edge",
        &["convert::signal", "io::signals", "sink", "telemetry"],
    ),
    ("evaluation", &["eval"]),
    ("report", &["report"]),
    ("pipeline", &["pipeline"]),
    ("configuration", &["config"]),
    ("access", &["access"]),
    ("sources", &["source"]),
    ("service", &["service"]),
    ("console", &["console"]),
];

/// Back edges that exist and are scheduled to go: (from file, to unit, why).
/// Empty since the [auth]/[admin]/[audit]/[*.tls]/[kafka.security]
/// sections moved into `config` and the gate and the audit trail
/// into `access` (issue 11); the test fails on a listed edge that no longer
/// exists, so the list only shrinks.
const KNOWN_BACK_EDGES: &[(&str, &str, &str)] = &[];

/// The unit (longest matching prefix of [`LAYERS`]) and layer index of a
/// module path such as `state::store`.
fn unit_of(module: &str) -> Option<(usize, &'static str)> {
    let mut best: Option<(usize, &'static str)> = None;
    for (i, (_, prefixes)) in LAYERS.iter().enumerate() {
        for p in prefixes.iter() {
            let matches = module == *p
                || module
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with("::"));
            if matches && best.is_none_or(|(_, b)| p.len() > b.len()) {
                best = Some((i, p));
            }
        }
    }
    best
}

/// `src/state/store.rs` -> `state::store`; `src/pipeline/mod.rs` -> `pipeline`.
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_string();
    }
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The source without comment lines and without items under
/// `#[cfg(test)]` (a `mod x;` line, or an item up to its matching brace).
fn production_code(src: &str) -> String {
    let lines: Vec<&str> = src
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "#[cfg(test)]" {
            out.push_str(lines[i]);
            out.push('\n');
            i += 1;
            continue;
        }
        // Skip the attribute and the item it guards.
        i += 1;
        let mut depth = 0i64;
        let mut opened = false;
        while i < lines.len() {
            let line = lines[i];
            i += 1;
            for c in line.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if (opened && depth <= 0) || (!opened && line.trim_end().ends_with(';')) {
                break;
            }
        }
    }
    out
}

/// Names the crate root re-exports (`crate::Engine`), to the module that
/// defines them, read from `src/lib.rs`'s `pub use module::{..}` lines.
fn root_reexports(lib_rs: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib_rs.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let (module, names) = match rest.split_once("::{") {
            Some((m, n)) => (m, n.trim_end_matches('}')),
            None => match rest.rsplit_once("::") {
                Some((m, n)) => (m, n),
                None => continue,
            },
        };
        for name in names.split(',') {
            out.insert(name.trim().to_string(), module.to_string());
        }
    }
    out
}

/// The module paths a file names through `crate::` (first two segments
/// that are modules, e.g. `crate::state::store::key_of` -> `state::store`;
/// `crate::{a::X, b}` -> `a`, `b`; `crate::Engine` -> its module).
fn crate_paths(code: &str, reexports: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut resolve = |path: &str| {
        let segments: Vec<&str> = path
            .split("::")
            .map(str::trim)
            .take_while(|s| !s.is_empty() && !s.starts_with('{'))
            .collect();
        let Some(first) = segments.first() else {
            return;
        };
        if first.starts_with(|c: char| c.is_ascii_uppercase()) {
            if let Some(m) = reexports.get(*first) {
                out.insert(m.clone());
            }
            return;
        }
        let modules: Vec<&str> = segments
            .iter()
            .take(2)
            .take_while(|s| s.starts_with(|c: char| c.is_ascii_lowercase()))
            .copied()
            .collect();
        out.insert(modules.join("::"));
    };
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let item = item.trim();
                if !item.is_empty() {
                    resolve(item);
                }
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            resolve(&rest[..end]);
        }
    }
    out
}

/// `code` with every `super::` path made absolute (`crate::...`) for a file
/// of module `module` (`state::store::format`: `super::key_of` is
/// `crate::state::store::key_of`; `state::store` (a `mod.rs`):
/// `super::sketch` is `crate::state::sketch`), so that relative imports
/// are checked too.
fn absolute_supers(code: &str, module: &str) -> String {
    let parts: Vec<&str> = module.split("::").collect();
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        let prev = rest[..at].chars().last();
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            out.push_str("super::");
            rest = &rest["super::".len()..];
            continue;
        }
        let mut up = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            up += 1;
            rest = r;
        }
        out.push_str("crate::");
        for p in &parts[..parts.len().saturating_sub(up)] {
            out.push_str(p);
            out.push_str("::");
        }
    }
    out.push_str(rest);
    out
}

/// Every library source file (not the binary's `main.rs` and `cli/`, not
/// `lib.rs`, not `tests.rs` modules), as (path under `src/`, text).
fn library_files(src: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).expect("src/ is readable");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let rel = path.strip_prefix(src).expect("under src").to_path_buf();
            if path.is_dir() {
                if rel != Path::new("cli") {
                    stack.push(path);
                }
                continue;
            }
            let name = rel.to_string_lossy();
            let skip = !name.ends_with(".rs")
                || name == "main.rs"
                || name == "lib.rs"
                || path.file_name().is_some_and(|f| f == "tests.rs");
            if !skip {
                let text = std::fs::read_to_string(&path).expect("readable source");
                out.push((rel, text));
            }
        }
    }
    out.sort();
    out
}

/// An import the layers forbid, or a loop.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct BackEdge {
    /// The importing file, under `src/`.
    file: String,
    /// Its unit.
    from: String,
    /// The unit of a later layer it imports.
    to: String,
}

/// The import graph between units, and the back edges, of `files`.
fn check(
    files: &[(PathBuf, String)],
    reexports: &BTreeMap<String, String>,
) -> (
    Vec<BackEdge>,
    BTreeMap<String, BTreeSet<String>>,
    Vec<String>,
) {
    let mut back = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for (rel, text) in files {
        let module = module_of(rel);
        let Some((layer, unit)) = unit_of(&module) else {
            unplaced.push(module);
            continue;
        };
        let code = absolute_supers(&production_code(text), &module);
        for path in crate_paths(&code, reexports) {
            let Some((to_layer, to_unit)) = unit_of(&path) else {
                unplaced.push(format!("{path} (named in {})", rel.display()));
                continue;
            };
            if to_unit != unit {
                graph
                    .entry(unit.to_string())
                    .or_default()
                    .insert(to_unit.to_string());
            }
            if to_layer > layer {
                back.push(BackEdge {
                    file: rel.to_string_lossy().into_owned(),
                    from: unit.to_string(),
                    to: to_unit.to_string(),
                });
            }
        }
    }
    back.sort();
    back.dedup();
    (back, graph, unplaced)
}

/// Loops in the unit graph, each as its units in order.
fn loops(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|p| p == node) {
            found.push(path[at..].to_vec());
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            walk(next, graph, path, done, found);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        walk(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

fn the_library() -> (Vec<(PathBuf, String)>, BTreeMap<String, String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    (library_files(&root.join("src")), root_reexports(&lib))
}

#[test]
fn every_module_has_a_layer() {
    let (files, reexports) = the_library();
    assert!(
        files.len() > 50,
        "read {} files: wrong directory?",
        files.len()
    );
    let (_, _, unplaced) = check(&files, &reexports);
    assert!(
        unplaced.is_empty(),
        "modules with no layer (add them to LAYERS in tests/architecture.rs): {unplaced:?}"
    );
}

#[test]
fn no_module_imports_from_a_later_layer() {
    let (files, reexports) = the_library();
    let (back, _, _) = check(&files, &reexports);
    let known: BTreeSet<(&str, &str)> = KNOWN_BACK_EDGES.iter().map(|(f, t, _)| (*f, *t)).collect();
    let new: Vec<String> = back
        .iter()
        .filter(|b| !known.contains(&(b.file.as_str(), b.to.as_str())))
        .map(|b| {
            format!(
                "src/{} ({}) imports {} from a later layer",
                b.file, b.from, b.to
            )
        })
        .collect();
    assert!(
        new.is_empty(),
        "imports against the flow:\n  {}\nlayers (earliest first): {:?}",
        new.join("\n  "),
        LAYERS.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
    let gone: Vec<&str> = KNOWN_BACK_EDGES
        .iter()
        .filter(|(f, t, _)| !back.iter().any(|b| b.file == *f && b.to == *t))
        .map(|(f, _, _)| *f)
        .collect();
    assert!(
        gone.is_empty(),
        "these known back edges are gone: remove them from KNOWN_BACK_EDGES: {gone:?}"
    );
}

#[test]
fn no_two_units_import_each_other() {
    let (files, reexports) = the_library();
    let (_, graph, _) = check(&files, &reexports);
    let mut found = loops(&graph);
    // A loop through a known back edge is that edge, already listed.
    found.retain(|l| {
        !KNOWN_BACK_EDGES.iter().any(|(f, t, _)| {
            let from = unit_of(&module_of(Path::new(f))).map(|(_, u)| u);
            l.iter().any(|u| Some(u.as_str()) == from) && l.iter().any(|u| u == t)
        })
    });
    assert!(found.is_empty(), "import loops between units: {found:?}");
}

/// The checker itself, on made-up sources: each row is one file's text and
/// the back edges it must report (none for a legal import).
#[test]
fn the_checker_catches_inverted_imports_and_loops() {
    let reexports = root_reexports("pub use engine::{Engine, Scratch};\npub use rules::RuleSet;\n");
    let cases: &[(&str, &str, &[&str])] = &[
        ("state/sketch.rs", "use crate::event::Event;\n", &[]),
        (
            "state/sketch.rs",
            "use crate::decide::Signal;\n",
            &["decide"],
        ),
        (
            "state/sketch.rs",
            "use crate::{event::Event, engine::Outcome};\n",
            &["engine"],
        ),
        ("state/sketch.rs", "use crate::Engine;\n", &["engine"]),
        (
            "rules/x.rs",
            "fn f() { crate::sink::publish(); }\n",
            &["sink"],
        ),
        (
            "convert/mod.rs",
            "use crate::decide::Action;\n",
            &["decide"],
        ),
        ("convert/signal.rs", "use crate::decide::Action;\n", &[]),
        (
            "pipeline/mod.rs",
            "use crate::source::kafka::Fence;\n",
            &["source"],
        ),
        ("source/kafka.rs", "use crate::pipeline::Pipeline;\n", &[]),
        (
            "config/mod.rs",
            "pub tls: super::service::tls::TlsSection,\n",
            &["service"],
        ),
        (
            "config/kafka.rs",
            "use super::tls::TlsSection;\nuse super::super::service::Gate;\n",
            &["service"],
        ),
        ("config/kafka.rs", "use super::TlsSection;\n", &[]),
        ("state/store/format.rs", "use super::super::key_of;\n", &[]),
        (
            "state/store/format.rs",
            "use super::super::super::engine::Engine;\n",
            &["engine"],
        ),
        ("service/x.rs", "pub(super) fn f() {}\n", &[]),
        ("state/sketch.rs", "// use crate::engine::Engine;\n", &[]),
        (
            "state/sketch.rs",
            "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::engine::Engine;\n}\n",
            &[],
        ),
        (
            "state/sketch.rs",
            "#[cfg(test)]\nmod tests;\nuse crate::decide::Signal;\n",
            &["decide"],
        ),
    ];
    for (file, text, want) in cases {
        let files = vec![(PathBuf::from(file), text.to_string())];
        let (back, _, unplaced) = check(&files, &reexports);
        let got: Vec<&str> = back.iter().map(|b| b.to.as_str()).collect();
        assert_eq!(&got, want, "{file}: {text:?}");
        assert!(unplaced.is_empty(), "{unplaced:?}");
    }
    let files = vec![
        (
            PathBuf::from("sink/a.rs"),
            "use crate::telemetry::T;\n".to_string(),
        ),
        (
            PathBuf::from("telemetry/b.rs"),
            "use crate::sink::S;\n".to_string(),
        ),
    ];
    let (back, graph, _) = check(&files, &reexports);
    assert!(back.is_empty(), "same layer: {back:?}");
    assert_eq!(
        loops(&graph),
        vec![vec!["sink".to_string(), "telemetry".to_string()]]
    );
}
