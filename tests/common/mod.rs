//! Shared paths and the bridge to the independent checker `vrpcheck.py`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use lrm::model::{ModelConfig, Policy};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::variant::MTVRP_NAMES;
use lrm::problem::{Instance, Variant};

/// The repository's `data/` folder (benchmarks, validation sets, cases, the checker's cases).
pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// `../shared/tools` with the independent checker `vrpcheck.py`, when it sits
/// beside the checkout. Without it the cross-checks are skipped with one
/// printed line, unless `LRM_REQUIRE_VRPCHECK` is set (CI sets it).
pub fn vrpcheck_tools() -> Option<PathBuf> {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools");
    if tools.join("vrpcheck.py").exists() {
        return Some(tools);
    }
    assert!(std::env::var_os("LRM_REQUIRE_VRPCHECK").is_none(), "LRM_REQUIRE_VRPCHECK is set but {} has no vrpcheck.py", tools.display());
    println!("../shared/tools/vrpcheck.py is not beside the checkout: the cross-check with the independent checker is skipped");
    None
}

pub fn lrm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lrm"))
}

/// A fresh temporary directory under the target dir, removed by the OS never:
/// kept small and named per test so failures can be inspected.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What vrpcheck said about one (instance, solution) pair.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub feasible: Option<bool>,
    pub cost: Option<f64>,
    pub violation: Option<String>,
}

/// Run vrpcheck on many pairs in one Python process (`--json` each); `None`
/// when the checker is not beside the checkout ([`vrpcheck_tools`]).
pub fn vrpcheck_many(pairs: &[(PathBuf, PathBuf)]) -> Option<Vec<Verdict>> {
    let tools = vrpcheck_tools()?;
    let driver = r#"
import io, json, sys, contextlib
sys.path.insert(0, sys.argv[1])
import vrpcheck
for line in sys.stdin:
    inst, sol = line.rstrip("\n").split("\t")
    vrpcheck.WARNINGS.clear()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        vrpcheck.main([inst, sol, "--json"])
    print(buf.getvalue().strip(), flush=True)
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(driver)
        .arg(&tools)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs vrpcheck.py");
    // Written from another thread: the driver's answers fill its stdout pipe
    // while the questions are still going in.
    let mut stdin = child.stdin.take().unwrap();
    let questions: String = pairs.iter().map(|(i, s)| format!("{}\t{}\n", i.display(), s.display())).collect();
    let writer = std::thread::spawn(move || stdin.write_all(questions.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "vrpcheck driver failed");
    let text = String::from_utf8(out.stdout).unwrap();
    let verdicts: Vec<Verdict> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("vrpcheck printed {l:?}: {e}"));
            Verdict {
                feasible: v["feasible"].as_bool(),
                cost: v["cost"].as_f64(),
                violation: v["violation"].as_str().or(v["error"].as_str()).map(String::from),
            }
        })
        .collect();
    assert_eq!(verdicts.len(), pairs.len(), "one verdict per pair");
    Some(verdicts)
}

/// The rule a vrpcheck message names, in lrm's rule names.
pub fn rule_of_message(msg: &str) -> &'static str {
    let table = [
        ("after backhaul customer", "precedence"),
        ("exceeds capacity", "capacity"),
        ("draft limit", "draft-limit"),
        ("time window closes", "time-window"),
        ("depot closes", "time-window"),
        ("distance limit", "distance-limit"),
        ("not visited", "missing-customer"),
        ("visited more than once", "repeated-customer"),
        ("unknown customer", "unknown-customer"),
        ("is empty", "empty-route"),
        ("exceed the fleet", "fleet"),
        ("needs exactly one route", "route-count"),
    ];
    table.iter().find(|(k, _)| msg.contains(k)).map_or("unknown", |(_, r)| r)
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Every rule family: the 16 variants, their mixed-backhaul forms, the TSP
/// family and an asymmetric matrix.
pub fn every_family(n: usize, seed: u64) -> Vec<Instance> {
    let mut names: Vec<String> = MTVRP_NAMES.iter().map(|s| s.to_string()).collect();
    names.extend(MTVRP_NAMES.iter().filter(|s| s.contains('B')).map(|s| s.replace('B', "MB")));
    names.extend(["TSP", "TSPTW", "TSPDL", "ACVRP", "ATSP"].map(String::from));
    names
        .iter()
        .map(|name| {
            let v: Variant = name.parse().unwrap();
            GeneratorConfig::new(Problem::Variant(v)).generate_one(n, seed, 0).0
        })
        .collect()
}

/// A small copy of a preset: same blocks, fewer and narrower layers
/// (mechanics, not quality).
pub fn small_config(preset: &str) -> ModelConfig {
    let c = ModelConfig::preset(preset).unwrap();
    ModelConfig { d_model: 32, n_heads: 4, n_layers: 2, d_ff: 64, pointer_heads: 4, ..c }
}

/// A randomly initialised [`small_config`] policy on the CPU backend, drawn
/// from a fixed seed: the same weights on every call unless a test beside it
/// draws tensors or blocks directly (`Tensor::random`, a block's `init`),
/// which do not take the model lock.
pub fn small_policy(preset: &str) -> (ModelConfig, Policy<burn::backend::Flex>) {
    let config = small_config(preset);
    let policy = config.init_seeded(17, &Default::default());
    (config, policy)
}

/// `count` generated instances of one variant with `n` customers.
pub fn generated(v: Variant, n: usize, count: usize, seed: u64) -> Vec<Instance> {
    GeneratorConfig::new(Problem::Variant(v)).generate(n, count, seed)
}

/// A [`small_policy`] saved as `DIR/PRESET.toml`, for the commands that read a checkpoint.
pub fn small_checkpoint(dir: &Path, preset: &str) -> PathBuf {
    let (config, policy) = small_policy(preset);
    let path = dir.join(format!("{preset}.toml"));
    lrm::model::checkpoint::save(&policy, &config, &path).unwrap();
    path
}

/// The JSON lines a command printed (`--json`), each parsed.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"))).collect()
}

/// The 16 variants mixed, reward normalisation on, clipping well below the
/// gradients' norm, 7 instances a step (shares of 4 and 3), `steps` steps.
pub fn mixed_config(dir: &Path, steps: usize) -> lrm::train::config::TrainConfig {
    lrm::train::config::TrainConfig::read(&mixed_config_file(dir, steps)).unwrap()
}

/// [`mixed_config`]'s file.
pub fn mixed_config_file(dir: &Path, steps: usize) -> PathBuf {
    let text = format!(
        r#"
seed = 11
[problem]
variants = ["MIXED"]
sizes = [8]
[model]
preset = "rf-te"
[model.overrides]
d_model = 16
n_heads = 2
n_layers = 1
d_ff = 32
pointer_heads = 2
[trainer]
kind = "pomo"
reward_ema = 0.25
[optimizer]
kind = "adam"
lr = 1e-3
clip_norm = 0.05
[batch]
size = 7
[run]
epochs = {steps}
instances_per_epoch = 7
checkpoint_every = 1
validate_every = 0
"#
    );
    let path = dir.join(format!("mixed-{steps}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A column of `metrics.csv`, by step.
pub fn metrics_column(run: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let k = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    lines.map(|l| l.split(',').nth(k).unwrap().parse().unwrap()).collect()
}

struct Values(Vec<f32>);

impl<B: burn::tensor::backend::Backend> burn::module::ModuleVisitor<B> for Values {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<B, D>>) {
        self.0.extend(param.val().into_data().iter::<f32>());
    }
}

/// Every weight of a run's latest checkpoint, in the module's order.
pub fn weights(run: &Path) -> Vec<f32> {
    let (policy, _) = lrm::model::checkpoint::load::<burn::backend::Flex>(&run.join("latest.toml"), &Default::default()).unwrap();
    let mut values = Values(vec![]);
    burn::module::Module::visit(&policy, &mut values);
    values.0
}

pub fn assert_close(what: &str, a: &[f64], b: &[f64], tolerance: f64) {
    assert_eq!(a.len(), b.len(), "{what}: {a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tolerance * x.abs().max(y.abs()).max(1e-6), "{what}: {a:?} vs {b:?}");
    }
}

/// The values of a tensor, on the host.
pub fn values<B: burn::tensor::backend::Backend, const D: usize>(t: burn::tensor::Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec().unwrap()
}

/// A fused CPU op's output `a` against Burn's form `b`: every entry within
/// `tolerance` of `b`'s largest magnitude (at least 1).
pub fn assert_matches_burn(what: &str, a: &[f32], b: &[f32], tolerance: f32) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1.0);
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tolerance * scale, "{what}[{k}]: fused {x}, Burn {y}");
    }
}

pub fn assert_same_weights(a: &Path, b: &Path) {
    let (a, b) = (weights(a), weights(b));
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(worst <= 1e-4 * scale, "weights differ by {worst} (largest weight {scale})");
}
