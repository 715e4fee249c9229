//! `extends = "BASE.toml"`: a training config written as its changes to
//! another one beside it. A stretch that differs from its recipe only in its
//! schedule or depth (`configs/mtvrp100-deep-cpu.toml` is
//! `configs/mtvrp100-cosine-cpu.toml` with 6 encoder layers) then says only
//! that, and a fix to the recipe reaches every stretch built on it.
//!
//! The run directory keeps the config as run, merged (`runs/NAME/config.toml`
//! has no `extends`), so a run resumes the same after its base file changes.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};
use toml::{Table, Value};

use crate::error::{line_at, Error, Result};

/// How many bases a chain may hold.
const MAX_BASES: usize = 16;

/// A config merged over the configs it extends.
#[derive(Debug)]
pub struct Merged {
    /// Every key of the chain, the nearer file's where two set one; no `extends`.
    pub table: Table,
    /// Each file of the chain with its text, the config first, its base next.
    pub files: Vec<(PathBuf, String)>,
}

/// The config in `text` (read from `path`) with the configs it extends laid
/// beneath it; `None` when it extends nothing.
///
/// Tables merge key by key, recursively, inline tables (`sizes = { max = 200
/// }`) as well as `[headers]`: `[model.overrides]` keeps the base's keys the
/// file does not set, also under another `preset`. Any other value (a number,
/// a string, an array, `[[validation]]` included) replaces the base's. A key
/// cannot be removed (`validation = []` empties the list). The base is a
/// file name in the same directory; it may extend another.
///
/// # Errors
/// TOML syntax (file and line); an `extends` that is not a file name beside
/// the config or cannot be read; a chain that comes back to one of its files
/// or holds more than 16 bases.
pub fn resolve(path: &Path, text: &str) -> Result<Option<Merged>> {
    let mut table = parse_table(path, text)?;
    let mut files = vec![(path.to_path_buf(), text.to_string())];
    let mut layers = vec![];
    while let Some(name) = table.remove("extends") {
        let from = &files.last().expect("the chain starts with the config").0;
        let base = base_path(from, &name)?;
        let chain = || files.iter().map(|(p, _)| p.display().to_string()).chain([base.display().to_string()]).collect::<Vec<_>>().join(" -> ");
        if files.iter().any(|(p, _)| *p == base) {
            return Err(Error::bad_input(from, None, format!("extends comes back to a file of its chain: {}", chain())));
        }
        if files.len() > MAX_BASES {
            return Err(Error::bad_input(path, None, format!("extends: more than {MAX_BASES} bases ({})", chain())));
        }
        let base_text = crate::problem::io::read_text(&base)?;
        layers.push(std::mem::replace(&mut table, parse_table(&base, &base_text)?));
        files.push((base, base_text));
    }
    if layers.is_empty() {
        return Ok(None);
    }
    for layer in layers.into_iter().rev() {
        lay_over(&mut table, layer);
    }
    Ok(Some(Merged { table, files }))
}

impl Merged {
    /// "A over B over C", for messages.
    pub fn chain(&self) -> String {
        self.files.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>().join(" over ")
    }

    /// The merged table as a `T`.
    ///
    /// # Errors
    /// What does not fit `T`, named at the file of the chain that sets it and
    /// its line (the config itself when no file sets it: a missing field).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T> {
        self.table.clone().try_into().map_err(|e: toml::de::Error| {
            let keys = key_path(&e);
            let (file, line) = self.locate(&keys).map_or((&self.files[0].0, None), |(f, l)| (f, Some(l)));
            let at = if keys.is_empty() { String::new() } else { format!(" (`{}`)", keys.join(".")) };
            Error::bad_input(file, line, format!("{}{at}; read as part of {}", e.message(), self.chain()))
        })
    }

    /// The nearest file that sets the deepest prefix of `keys`, and the line.
    fn locate(&self, keys: &[String]) -> Option<(&PathBuf, usize)> {
        let mut best: Option<(usize, &PathBuf, usize)> = None;
        for (path, text) in &self.files {
            let Ok(table) = DeTable::parse(text) else { continue };
            let (mut depth, mut offset, mut current) = (0, None, Some(table.get_ref()));
            for key in keys {
                let Some((k, v)) = current.and_then(|t| t.iter().find(|(k, _)| k.get_ref().as_ref() == key.as_str())) else { break };
                (depth, offset) = (depth + 1, Some(k.span().start));
                current = match v.get_ref() {
                    DeValue::Table(t) => Some(t),
                    _ => None,
                };
            }
            if let Some(offset) = offset.filter(|_| best.is_none_or(|(d, ..)| depth > d)) {
                best = Some((depth, path, line_at(text, offset)));
            }
        }
        best.map(|(_, path, line)| (path, line))
    }
}

/// The keys down to what `e` is about: those toml records (`optimizer.lr`),
/// and an unknown field's name.
fn key_path(e: &toml::de::Error) -> Vec<String> {
    // toml keeps the keys private; its message ends "in `a.b`" when it has some.
    let shown = e.to_string();
    let mut keys: Vec<String> =
        shown.lines().rev().find_map(|l| l.strip_prefix("in `")?.strip_suffix('`')).map_or(vec![], |k| k.split('.').map(String::from).collect());
    if let Some(field) = e.message().strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
        keys.push(field.to_string());
    }
    keys
}

/// The file `extends = name` names, beside `from`.
fn base_path(from: &Path, name: &Value) -> Result<PathBuf> {
    let bad = |why: &str| {
        let hint = "give the file name of a config in the same directory, e.g. extends = \"mtvrp100-cpu.toml\"";
        Error::bad_input(from, None, format!("extends = {name}: {why}; {hint}"))
    };
    let Value::String(name) = name else { return Err(bad("not a string")) };
    if Path::new(name).file_name() != Some(name.as_ref()) {
        return Err(bad("not a bare file name"));
    }
    let base = from.parent().unwrap_or(Path::new("")).join(name);
    if !base.is_file() {
        return Err(bad("no such file"));
    }
    Ok(base)
}

/// `text` as a TOML table; a syntax error names the file and line.
fn parse_table(path: &Path, text: &str) -> Result<Table> {
    text.parse::<Table>().map_err(|e| Error::toml(path, text, "", &e))
}

/// `top`'s keys written over `base`: tables merged, other values replaced.
fn lay_over(base: &mut Table, top: Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(t)) => lay_over(b, t),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir().join(format!("lrm-extends-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn tables_merge_key_by_key_and_other_values_replace_along_the_chain() {
        let dir = Dir::new("chain");
        dir.write("a.toml", "seed = 1\nlist = [1, 2]\npath = \"x.npz\"\nsizes = [20]\n[m]\nx = 1\ny = 2\n[m.o]\np = 1\n");
        dir.write("b.toml", "extends = \"a.toml\"\nlist = [3]\nsizes = { min = 1, max = 9 }\n[m.o]\nq = 2\n");
        let text = "extends = \"b.toml\"\npath = { synthetic = 2 }\nsizes = { max = 5 }\n[m]\ny = 5\n";
        let merged = resolve(&dir.0.join("c.toml"), text).unwrap().unwrap();
        let expected = "seed = 1\nlist = [3]\npath = { synthetic = 2 }\nsizes = { min = 1, max = 5 }\n[m]\nx = 1\ny = 5\n[m.o]\np = 1\nq = 2\n";
        assert_eq!(merged.table, expected.parse::<Table>().unwrap());
        let files: Vec<_> = merged.files.iter().map(|(p, _)| p.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(files, ["c.toml", "b.toml", "a.toml"]);
        assert!(resolve(&dir.0.join("d.toml"), "seed = 2\n").unwrap().is_none());
    }

    #[test]
    fn a_bad_extends_names_the_file_and_what_to_do() {
        let dir = Dir::new("bad");
        dir.write("loop1.toml", "extends = \"loop2.toml\"\n");
        dir.write("loop2.toml", "extends = \"loop1.toml\"\n");
        dir.write("broken.toml", "seed = 1\n[m\n");
        for k in 0..=MAX_BASES {
            dir.write(&format!("long{k}.toml"), &format!("extends = \"long{}.toml\"\n", k + 1));
        }
        let cases = [
            ("extends = 3\n", "not a string"),
            ("extends = \"../a.toml\"\n", "not a bare file name"),
            ("extends = \"missing.toml\"\n", "no such file"),
            ("extends = \"loop1.toml\"\n", "comes back to a file of its chain"),
            ("extends = \"long0.toml\"\n", "more than 16 bases"),
        ];
        for (text, expected) in cases {
            let e = resolve(&dir.0.join("c.toml"), text).unwrap_err().to_string();
            assert!(e.contains(expected) && e.contains("c.toml"), "{text}: {e}");
        }
        let e = resolve(&dir.0.join("c.toml"), "extends = \"broken.toml\"\n").unwrap_err().to_string();
        assert!(e.contains("broken.toml:2"), "{e}");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Config {
        seed: u64,
        optimizer: Optimizer,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Optimizer {
        lr: f64,
    }

    #[test]
    fn a_value_that_does_not_fit_is_named_where_the_chain_sets_it() {
        let dir = Dir::new("blame");
        dir.write("base.toml", "seed = 1\n\n[optimizer]\nlr = \"fast\"\n");
        let child = dir.0.join("child.toml");
        let error = |text: &str| resolve(&child, text).unwrap().unwrap().deserialize::<Config>().unwrap_err().to_string();
        let e = error("extends = \"base.toml\"\n");
        assert!(e.contains("base.toml:4") && e.contains("`optimizer.lr`") && e.contains("child.toml over"), "{e}");
        let e = error("extends = \"base.toml\"\n[optimizer]\nlr = 1e-3\nrate = 2\n");
        assert!(e.contains("child.toml:4") && e.contains("unknown field `rate`"), "{e}");
        let e = error("extends = \"base.toml\"\nseed = -1\n[optimizer]\nlr = 1e-3\n");
        assert!(e.contains("child.toml:2") && e.contains("`seed`"), "{e}");
    }
}
