//! `lrm completions` and `lrm man`, generated from the clap definitions.

use crate::common::{lrm, temp_dir};

#[test]
fn completions_parse_in_bash_and_the_manual_page_names_every_subcommand() {
    let dir = temp_dir("completions");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = lrm().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}");
        if shell == "bash" {
            let script = dir.join("lrm.bash");
            std::fs::write(&script, &out.stdout).unwrap();
            assert!(std::process::Command::new("bash").arg("-n").arg(&script).status().unwrap().success(), "bash -n accepts the script");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("--time-limit") && text.contains("--city"), "flags come from the definitions");
        }
    }
    let man = lrm().arg("man").output().unwrap();
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH lrm 1"));
    for sub in ["train", "solve", "bench", "eval", "generate", "check", "city", "info", "completions"] {
        assert!(page.contains(sub), "the page names {sub}");
    }
    let bad = lrm().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
