//! `lrm train` stopped with Ctrl-C, once (after the step, with a checkpoint)
//! and twice (at once); and on two machines, played by two processes on
//! 127.0.0.1 joined through `lrm coordinator`: the same curve and weights as
//! one process, a checkpoint that resumes on one device, a clear error when a
//! node dies, and a refusal when the nodes' configs differ.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::{assert_close, assert_same_weights, lrm, metrics_column, mixed_config_file, temp_dir};

/// `N` distinct ports, free now and never handed out before to a test of
/// this binary. The listeners are held until all `N` are chosen, so one call
/// cannot get the same port twice, and the ports given are remembered, so
/// two tests running in parallel cannot share one. (The processes bind the
/// ports themselves: Burn's collective server takes no port 0, so another
/// program could still take one in between.)
fn free_ports<const N: usize>() -> [u16; N] {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap();
    let mut held = Vec::with_capacity(N);
    while held.len() < N {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        if given.insert(listener.local_addr().unwrap().port()) {
            held.push(listener);
        }
    }
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}

/// Kills its process when dropped, so that a failing test leaves none behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// The output of a process expected to end within `limit`.
    fn finish(mut self, limit: Duration) -> Output {
        let started = Instant::now();
        while self.0.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let child = std::mem::replace(&mut self.0, Command::new("true").spawn().unwrap());
        child.wait_with_output().unwrap()
    }
}

fn coordinator(port: u16) -> Running {
    Running(lrm().args(["coordinator", "--port", &port.to_string()]).stderr(Stdio::null()).spawn().unwrap())
}

/// `lrm train` as node `rank` of two.
fn node(config: &Path, out: &Path, rank: usize, coordinator: u16, port: u16, extra: &[&str]) -> Running {
    let mut command = lrm();
    command.args(["train", "--config"]).arg(config).arg("--out").arg(out);
    command.args(["--nodes", "2", "--node-rank", &rank.to_string(), "--coordinator", &format!("127.0.0.1:{coordinator}")]);
    command.args(["--node-address", &format!("127.0.0.1:{port}")]).args(extra);
    Running(command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
}

fn succeeded(output: &Output) -> bool {
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    output.status.success()
}

#[test]
fn two_nodes_train_as_one_process_and_their_run_resumes_on_one_device() {
    let dir = temp_dir("cli-train-nodes");
    let (three, six) = (mixed_config_file(&dir, 3), mixed_config_file(&dir, 6));
    let single = lrm().args(["train", "--config"]).arg(&six).arg("--out").arg(dir.join("one")).output().unwrap();
    assert!(succeeded(&single));

    let [port, first_port, second_port] = free_ports();
    let _coordinator = coordinator(port);
    let first = node(&three, &dir.join("two"), 0, port, first_port, &[]);
    let second = node(&three, &dir.join("unused"), 1, port, second_port, &[]);
    let (first, second) = (first.finish(Duration::from_secs(300)), second.finish(Duration::from_secs(300)));
    assert!(succeeded(&first) && succeeded(&second));
    assert!(String::from_utf8_lossy(&second.stdout).contains("node 0 wrote the run"));
    assert!(!dir.join("unused").exists(), "only node 0 writes");

    let (one, two) = (dir.join("one"), dir.join("two"));
    assert_close("loss", &metrics_column(&one, "loss")[..3], &metrics_column(&two, "loss"), 1e-4);
    assert_close("gradient norm", &metrics_column(&one, "grad_norm")[..3], &metrics_column(&two, "grad_norm"), 1e-4);

    let config = std::fs::read_to_string(two.join("config.toml")).unwrap().replace("epochs = 3", "epochs = 6");
    std::fs::write(two.join("config.toml"), config).unwrap();
    assert!(succeeded(&lrm().args(["train", "--resume"]).arg(&two).output().unwrap()));
    assert_close("loss after resuming", &metrics_column(&one, "loss"), &metrics_column(&two, "loss"), 1e-4);
    assert_same_weights(&one, &two);
}

#[test]
fn a_node_that_dies_stops_the_other_with_its_name_and_the_checkpoint_stays() {
    let dir = temp_dir("cli-train-node-dies");
    let config = mixed_config_file(&dir, 100_000);
    let [port, first_port, second_port] = free_ports();
    let _coordinator = coordinator(port);
    let first = node(&config, &dir.join("run"), 0, port, first_port, &["--peer-timeout", "5"]);
    let mut second = node(&config, &dir.join("unused"), 1, port, second_port, &["--peer-timeout", "5"]);
    let started = Instant::now();
    while !dir.join("run/latest").exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "no checkpoint after two minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
    second.0.kill().unwrap();
    let killed = Instant::now();
    let first = first.finish(Duration::from_secs(60));
    assert!(!first.status.success());
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains(&format!("node 1 (127.0.0.1:{second_port})")), "{stderr}");
    assert!(killed.elapsed() < Duration::from_secs(40), "took {:?}", killed.elapsed());
    let run = dir.join("run");
    let config = lrm::train::config::TrainConfig::read(&run.join("config.toml")).unwrap();
    let resumed = lrm::train::Trainer::<burn::backend::Autodiff<burn::backend::Flex>>::new(config, &run, lrm::train::Start::Resume, &Default::default());
    assert!(resumed.unwrap().state.step >= 1, "the checkpoint resumes");
}

#[test]
fn nodes_with_different_configs_are_refused_at_start() {
    let dir = temp_dir("cli-train-node-configs");
    let (three, six) = (mixed_config_file(&dir, 3), mixed_config_file(&dir, 6));
    let [port, first_port, second_port] = free_ports();
    let _coordinator = coordinator(port);
    let first = node(&three, &dir.join("run"), 0, port, first_port, &["--peer-timeout", "30"]);
    let second = node(&six, &dir.join("unused"), 1, port, second_port, &["--peer-timeout", "30"]);
    for output in [first.finish(Duration::from_secs(120)), second.finish(Duration::from_secs(120))] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "bad input: {stderr}");
        assert!(stderr.contains("trains another config"), "{stderr}");
        assert!(!stderr.contains("joined the coordinator"), "every node joined: {stderr}");
    }
}

#[test]
fn a_node_alone_or_without_a_coordinator_stops_within_its_timeout_saying_why() {
    let dir = temp_dir("cli-train-node-alone");
    let config = mixed_config_file(&dir, 3);
    let [port, alone_port, no_coordinator, nobody_port] = free_ports();
    let _coordinator = coordinator(port);
    let alone = node(&config, &dir.join("alone"), 0, port, alone_port, &["--peer-timeout", "2"]);
    let nobody = node(&config, &dir.join("nobody"), 0, no_coordinator, nobody_port, &["--peer-timeout", "2"]);
    for (output, why) in [(alone.finish(Duration::from_secs(60)), "not all 2 nodes joined"), (nobody.finish(Duration::from_secs(60)), "no coordinator answers")]
    {
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{stderr}");
    }
}

/// A run of 100-customer steps, long enough (over a second each in the test
/// profile) for two Ctrl-C to land inside one step.
fn slow_config_file(dir: &Path) -> std::path::PathBuf {
    let path = mixed_config_file(dir, 100_000);
    let text = std::fs::read_to_string(&path).unwrap().replace("sizes = [8]", "sizes = [100]");
    std::fs::write(&path, text).unwrap();
    path
}

/// Waits until the run in `run` has checkpointed step `step`, then a little
/// more, so that the next step is under way.
fn wait_for_checkpoint(run: &Path, step: usize) {
    let started = Instant::now();
    let latest = || std::fs::read_to_string(run.join("latest")).ok()?.trim().rsplit('-').next()?.parse::<usize>().ok();
    while latest().is_none_or(|s| s < step) {
        assert!(started.elapsed() < Duration::from_secs(300), "no checkpoint of step {step} after five minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
}

/// What Ctrl-C sends.
fn interrupt(child: &Child) {
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
}

/// The step a run's latest checkpoint resumes from.
fn resumes_from(run: &Path) -> usize {
    let config = lrm::train::config::TrainConfig::read(&run.join("config.toml")).unwrap();
    let resumed = lrm::train::Trainer::<burn::backend::Autodiff<burn::backend::Flex>>::new(config, run, lrm::train::Start::Resume, &Default::default());
    resumed.unwrap().state.step
}

#[test]
fn ctrl_c_stops_after_the_step_with_a_checkpoint_and_twice_stops_at_once() {
    let dir = temp_dir("cli-train-ctrl-c");
    let run = dir.join("run");
    let start = |args: &[&std::ffi::OsStr]| Running(lrm().arg("train").args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    let config = slow_config_file(&dir);
    let once = start(&["--config".as_ref(), config.as_os_str(), "--out".as_ref(), run.as_os_str()]);
    wait_for_checkpoint(&run, 1);
    interrupt(&once.0);
    let output = once.finish(Duration::from_secs(120));
    assert!(succeeded(&output));
    let stepped = metrics_column(&run, "step").len();
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("step {stepped} of 100000")), "{}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(resumes_from(&run), stepped, "the checkpoint holds every step written");

    let twice = start(&["--resume".as_ref(), run.as_os_str()]);
    wait_for_checkpoint(&run, stepped + 1);
    interrupt(&twice.0);
    std::thread::sleep(Duration::from_millis(100));
    interrupt(&twice.0);
    let output = twice.finish(Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains(&format!("stopped at once; lrm train --resume {}", run.display())), "{stderr}");
    assert!(resumes_from(&run) > stepped, "the checkpoints written before stay");
}
