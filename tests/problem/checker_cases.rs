//! The independent checker's own hand-made cases (`data/checker/cases.txt`:
//! every rule, every weight format, every rounding, bad input) run through
//! `lrm check`: same exit status and the same text.

use crate::common::{data, lrm};

#[test]
fn lrm_check_agrees_with_every_vrpcheck_case() {
    let dir = data().join("checker");
    let cases = std::fs::read_to_string(dir.join("cases.txt")).unwrap();
    let mut failures = vec![];
    let mut count = 0;
    for line in cases.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.splitn(5, '|').collect();
        let (code, inst, sol, args, expect) = (f[0].parse::<i32>().unwrap(), f[1], f[2], f[3], f[4]);
        let out = lrm().current_dir(&dir).arg("check").arg(inst).arg(sol).args(args.split_whitespace()).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if out.status.code() != Some(code) || !text.contains(expect) {
            failures.push(format!("{line}\n  got {:?}: {text}", out.status.code()));
        }
        count += 1;
    }
    assert!(count > 80, "cases.txt holds the checker's cases");
    assert!(failures.is_empty(), "{} of {count} cases differ:\n{}", failures.len(), failures.join("\n"));
}
