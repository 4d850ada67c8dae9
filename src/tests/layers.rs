//! The modules form layers: each uses only its own layer's modules and those below, and
//! no module uses one that uses it back. Read from the source files, as a newcomer would:
//! every `crate::…` path (in `use` trees and in code) and, in a `mod.rs`, every path
//! through one of its own submodules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, from the bottom; `crate` is lib.rs, which declares them all.
const LAYERS: [&str; 7] = [
    "base", "identity", "caller", "table", "api", "door", "crate",
];

/// Each module (`base::db`, `caller`, `door`, `crate`) and the modules it uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// `src/` without the tests, as module path → source text.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if prefix.is_empty() && name == "tests" {
                    continue;
                }
                let mut inner = prefix.to_vec();
                inner.push(name);
                walk(&path, &inner, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.to_vec();
                if name != "mod" && name != "lib" {
                    module.push(name);
                }
                let module = if module.is_empty() {
                    "crate".to_string()
                } else {
                    module.join("::")
                };
                out.insert(module, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

/// The text without comments (so that prose naming a module counts for nothing).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The paths of a use tree or plain path starting at `text` (just after `crate::`):
/// `a::b::C` → ["a::b::C"], `a::{self, b::c, d}` → ["a", "a::b::c", "a::d"].
fn paths(text: &str) -> Vec<String> {
    fn tree(text: &str, prefix: &str, out: &mut Vec<String>) -> usize {
        let mut at = 0;
        let mut path = prefix.to_string();
        loop {
            let rest = &text[at..];
            if let Some(inner) = rest.strip_prefix('{') {
                let mut used = 1;
                let mut inner = inner;
                loop {
                    let skip = inner.len() - inner.trim_start().len();
                    used += skip;
                    inner = &inner[skip..];
                    if let Some(after) = inner.strip_prefix('}') {
                        let _ = after;
                        return at + used + 1;
                    }
                    let n = tree(inner, &path, out);
                    used += n;
                    inner = &inner[n..];
                    let skip = inner.len() - inner.trim_start().len();
                    used += skip;
                    inner = &inner[skip..];
                    if let Some(after) = inner.strip_prefix(',') {
                        used += 1;
                        inner = after;
                    }
                }
            }
            let len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
            if len == 0 {
                out.push(path);
                return at;
            }
            let segment = &rest[..len];
            if segment != "self" {
                if !path.is_empty() {
                    path.push_str("::");
                }
                path.push_str(segment);
            }
            at += len;
            if text[at..].starts_with("::") {
                at += 2;
            } else {
                out.push(path);
                return at;
            }
        }
    }
    let mut out = Vec::new();
    tree(text, "", &mut out);
    out
}

/// The module a path lands in: its longest prefix that is a module.
fn module_of(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|prefix| modules.contains(prefix))
}

fn graph(sources: &BTreeMap<String, String>) -> Graph {
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let mut graph = Graph::new();
    for (module, text) in sources {
        let code = code(text);
        let mut uses = BTreeSet::new();
        let mut found = Vec::new();
        for (at, _) in code.match_indices("crate::") {
            if code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                continue;
            }
            found.extend(paths(&code[at + "crate::".len()..]));
        }
        // A parent reaches its own submodules by their bare names.
        let own = if module == "crate" {
            String::new()
        } else {
            format!("{module}::")
        };
        for child in modules.iter().filter_map(|m| m.strip_prefix(own.as_str())) {
            if child.contains("::") || child.is_empty() || module == child {
                continue;
            }
            for (at, _) in code.match_indices(&format!("{child}::")) {
                if code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                    continue;
                }
                found.extend(paths(&code[at..]).into_iter().map(|p| format!("{own}{p}")));
            }
        }
        for path in found {
            if let Some(used) = module_of(&path, &modules) {
                if &used != module {
                    uses.insert(used);
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

fn layer(module: &str) -> usize {
    let top = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|layer| *layer == top)
        .unwrap_or_else(|| panic!("module {module} is in no layer of {LAYERS:?}"))
}

/// The uses that go up a layer.
fn upward(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    for (module, uses) in graph {
        for used in uses {
            if layer(used) > layer(module) {
                found.push(format!("{module} uses {used}, a layer above it"));
            }
        }
    }
    found
}

/// A cycle of modules, if there is one (each using the next, the last the first).
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            return Some(path[start..].to_vec());
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for used in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(used, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_form_layers_without_cycles() {
    let graph = graph(&sources());
    // The reading itself works: the door uses the api, the api the caller, and so on.
    for (module, used) in [
        ("door", "api::learnings"),
        ("api::learnings", "caller"),
        ("caller", "identity::token"),
    ] {
        assert!(
            graph[module].contains(used),
            "{module} should be seen to use {used}: {:?}",
            graph[module]
        );
    }
    if let Some(cycle) = cycle(&graph) {
        panic!("the modules' imports form a cycle: {}", cycle.join(" → "));
    }
    let up = upward(&graph);
    assert!(up.is_empty(), "imports that go up:\n{}", up.join("\n"));
}

#[test]
fn the_reading_finds_cycles_and_upward_uses() {
    let sources: BTreeMap<String, String> = [
        (
            "base::a",
            "use crate::base::{self, b::Thing};\nfn f() { crate::base::c::g(); }",
        ),
        ("base::b", "// crate::base::a is prose\nuse crate::base::c;"),
        ("base::c", "fn g() { crate::base::a::h() }"),
        ("base", "pub mod a; pub mod b; pub mod c;"),
        ("caller", "use crate::base::a;"),
        ("identity", "use crate::caller::Caller;"),
    ]
    .into_iter()
    .map(|(m, t)| (m.to_string(), t.to_string()))
    .collect();
    let graph = graph(&sources);
    assert_eq!(
        graph["base::a"],
        ["base", "base::b", "base::c"].map(String::from).into()
    );
    assert_eq!(graph["base::b"], ["base::c"].map(String::from).into());
    let cycle = cycle(&graph).expect("a → b → c → a");
    assert!(cycle.contains(&"base::c".to_string()), "{cycle:?}");
    assert_eq!(upward(&graph), ["identity uses caller, a layer above it"]);
}
