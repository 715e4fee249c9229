//! `extends = "BASE.toml"`: a training config written as its changes to
//! another one beside it. A stretch that differs from its recipe only in its
//! schedule or depth (`configs/mtvrp100-deep-cpu.toml` is
//! `configs/mtvrp100-cosine-cpu.toml` with 6 encoder layers) then says only
//! that, and a fix to the recipe reaches every stretch built on it.
//!
//! The run directory keeps the config as run, merged (`runs/NAME/config.toml`
//! has no `extends`), so a run resumes the same after its base file changes.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::error::{Error, Result};

/// How many bases a chain may hold before it is taken for a mistake.
const MAX_CHAIN: usize = 16;

/// The config in `text` (read from `path`) with the configs it extends laid
/// beneath it, and the files of the chain, nearest first; `None` when it
/// extends nothing.
///
/// Tables merge key by key, recursively (`[model.overrides]` keeps the base's
/// keys the file does not set); any other value (a number, a string, an
/// array, `[[validation]]` included) replaces the base's. The base is a file
/// name in the same directory; it may extend another.
///
/// # Errors
/// TOML syntax (file and line), and an `extends` that is not a file name
/// beside the config, cannot be read, or comes back to a file of the chain.
pub fn resolve(path: &Path, text: &str) -> Result<Option<(Table, Vec<PathBuf>)>> {
    let mut table = parse_table(path, text)?;
    if !table.contains_key("extends") {
        return Ok(None);
    }
    let mut chain = vec![path.to_path_buf()];
    let mut layers = vec![];
    while let Some(name) = table.remove("extends") {
        let from = chain.last().expect("the chain starts with the config");
        let base = base_path(from, &name)?;
        if chain.contains(&base) || chain.len() > MAX_CHAIN {
            let files: Vec<String> = chain.iter().chain([&base]).map(|p| p.display().to_string()).collect();
            return Err(Error::bad_input(from, None, format!("extends comes back to a file of its chain: {}", files.join(" -> "))));
        }
        layers.push(table);
        table = parse_table(&base, &crate::problem::io::read_text(&base)?)?;
        chain.push(base);
    }
    for layer in layers.into_iter().rev() {
        lay_over(&mut table, layer);
    }
    chain.remove(0);
    Ok(Some((table, chain)))
}

/// The file `extends = name` names, beside `from`.
fn base_path(from: &Path, name: &Value) -> Result<PathBuf> {
    let bad = |why: &str| Error::bad_input(from, None, format!("extends = {name}: {why}; give the file name of a config in the same directory, e.g. extends = \"mtvrp100-cpu.toml\""));
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
    text.parse::<Table>().map_err(|e| Error::bad_input(path, line_of(text, &e), e.message().to_string()))
}

/// The line (from 1) a TOML error points at.
pub fn line_of(text: &str, e: &toml::de::Error) -> Option<usize> {
    e.span().map(|s| text[..s.start].lines().count().max(1))
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

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lrm-extends-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn tables_merge_key_by_key_and_other_values_replace_along_the_chain() {
        let dir = temp("chain");
        write(&dir, "a.toml", "seed = 1\nlist = [1, 2]\n[m]\nx = 1\ny = 2\n[m.o]\np = 1\n");
        write(&dir, "b.toml", "extends = \"a.toml\"\nlist = [3]\n[m.o]\nq = 2\n");
        let text = "extends = \"b.toml\"\n[m]\ny = 5\n";
        let (table, chain) = resolve(&dir.join("c.toml"), text).unwrap().unwrap();
        let expected: Table = "seed = 1\nlist = [3]\n[m]\nx = 1\ny = 5\n[m.o]\np = 1\nq = 2\n".parse().unwrap();
        assert_eq!(table, expected);
        assert_eq!(chain, [dir.join("b.toml"), dir.join("a.toml")]);
        assert!(resolve(&dir.join("d.toml"), "seed = 2\n").unwrap().is_none());
    }

    #[test]
    fn a_bad_extends_names_the_file_and_what_to_do() {
        let dir = temp("bad");
        write(&dir, "loop1.toml", "extends = \"loop2.toml\"\n");
        write(&dir, "loop2.toml", "extends = \"loop1.toml\"\n");
        write(&dir, "broken.toml", "seed = 1\n[m\n");
        let cases = [
            ("extends = 3\n", "not a string"),
            ("extends = \"../a.toml\"\n", "not a bare file name"),
            ("extends = \"missing.toml\"\n", "no such file"),
            ("extends = \"loop1.toml\"\n", "comes back to a file of its chain"),
        ];
        for (text, expected) in cases {
            let e = resolve(&dir.join("c.toml"), text).unwrap_err().to_string();
            assert!(e.contains(expected) && e.contains("c.toml"), "{text}: {e}");
        }
        let e = resolve(&dir.join("c.toml"), "extends = \"broken.toml\"\n").unwrap_err().to_string();
        assert!(e.contains("broken.toml:2"), "{e}");
    }
}
