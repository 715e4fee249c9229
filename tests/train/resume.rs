//! Resume is exact; bad configs name the field; a non-finite loss is caught.

use std::sync::atomic::AtomicBool;

use burn::tensor::Tensor;

use lrm::train::config::TrainConfig;
use lrm::train::{Start, StepOutcome, Trainer};

use crate::common::lrm;
use crate::learning::{tiny_run, Ad};

fn weights(dir: &std::path::Path) -> Vec<u8> {
    std::fs::read(dir.join("latest.safetensors")).unwrap()
}

#[test]
fn n_steps_then_resume_for_n_more_equals_2n_steps_in_one_run() {
    let (dir, mut config) = tiny_run("resume", "CVRP", 8);
    config.run.instances_per_epoch = 12 * 32;
    config.run.checkpoint_every = 6;
    config.trainer.reward_ema = 0.25;
    let device = Default::default();
    let mut straight = Trainer::<Ad>::new(config.clone(), &dir.join("straight"), Start::Fresh, &device).unwrap();
    straight.run(&AtomicBool::new(false), false).unwrap();
    assert_eq!(straight.state.step, 12);

    let mut first = Trainer::<Ad>::new(config.clone(), &dir.join("split"), Start::Fresh, &device).unwrap();
    for _ in 0..6 {
        first.train_step().unwrap();
    }
    first.checkpoint(None).unwrap();
    drop(first);
    let err = Trainer::<Ad>::new(config.clone(), &dir.join("split"), Start::Fresh, &device).err().unwrap();
    assert!(err.to_string().contains("--resume"), "{err}");
    let mut second = Trainer::<Ad>::new(config, &dir.join("split"), Start::Resume, &device).unwrap();
    assert_eq!(second.state.step, 6);
    second.run(&AtomicBool::new(false), false).unwrap();
    assert!(weights(&dir.join("straight")) == weights(&dir.join("split")), "resumed weights differ from the uninterrupted run's");
}

#[test]
fn a_config_with_a_wrong_field_fails_naming_it() {
    let (dir, config) = tiny_run("bad-config", "TSP", 4);
    let good = std::fs::read_to_string(config.source.unwrap()).unwrap();
    let cases = [
        (good.replace("lr = 1e-3", "learning_rate = 1e-3"), "learning_rate"),
        (good.replace("lr = 1e-3", "lr = -1.0"), "optimizer.lr"),
        (good.replace("d_model = 32", "d_modle = 32"), "model.overrides.d_modle"),
        (good.replace("variants = [\"TSP\"]", "variants = [\"TSPX\"]"), "problem.variants"),
        (good.replace("kind = \"adam\"", "kind = \"sgd\""), "sgd"),
        (good.replace("kind = \"pomo\"", "kind = \"pomo\"\nstarts = 4\nsamples = 8"), "samples exclude each other"),
        (
            good.replace("variants = [\"TSP\"]", "variants = [\"CVRP\"]").replace("kind = \"pomo\"", "kind = \"pomo\"\nbacktrack_budget = 15"),
            "trainer.backtrack_budget",
        ),
    ];
    for (k, (text, named)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{k}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = TrainConfig::read(&path).unwrap_err().to_string();
        assert!(err.contains(named) && err.contains(&format!("bad{k}.toml")), "{named}: {err}");
        let out = lrm().arg("train").arg("--config").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{named}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(named));
    }
}

#[test]
fn a_non_finite_loss_skips_the_step_and_repeats_roll_back() {
    let (dir, config) = tiny_run("nan", "TSP", 4);
    let device = Default::default();
    let mut trainer = Trainer::<Ad>::new(config, &dir.join("run"), Start::Fresh, &device).unwrap();
    trainer.train_step().unwrap();
    trainer.checkpoint(None).unwrap();
    let saved = std::fs::read(dir.join("run/latest.safetensors")).unwrap();
    let nan = || Tensor::<Ad, 1>::from_floats([f32::NAN], &device).require_grad();
    for _ in 0..2 {
        assert!(matches!(trainer.optimise(nan()).unwrap(), StepOutcome::Skipped { .. }));
    }
    trainer.train_step().unwrap();
    for _ in 0..3 {
        assert!(matches!(trainer.optimise(nan() * 0.0 + f32::INFINITY).unwrap(), StepOutcome::Skipped { .. }));
    }
    trainer.checkpoint(None).unwrap();
    assert!(std::fs::read(dir.join("run/latest.safetensors")).unwrap() == saved, "three bad steps in a row restore the last checkpoint");
}

/// What `lrm train` relies on to exit at once (a second Ctrl-C): while
/// `checkpoint_lock` is held, no checkpoint is half written. Each checkpoint
/// here is a new best, so `latest` and `best` must name the same one.
#[test]
fn holding_the_checkpoint_lock_never_shows_a_checkpoint_half_written() {
    let (dir, config) = tiny_run("checkpoint-lock", "CVRP", 4);
    let run = dir.join("run");
    let writer = {
        let run = run.clone();
        std::thread::spawn(move || {
            let mut trainer = Trainer::<Ad>::new(config, &run, Start::Fresh, &Default::default()).unwrap();
            for k in 0..40 {
                trainer.state.step = k;
                trainer.checkpoint(Some(100.0 - k as f64)).unwrap();
            }
        })
    };
    let mut seen = 0;
    while !writer.is_finished() {
        {
            let _no_writes = lrm::train::run_dir::checkpoint_lock();
            if run.join("latest").exists() {
                assert_whole(&run);
                seen += 1;
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    writer.join().unwrap();
    assert_whole(&run);
    assert!(seen > 0, "the writer finished before any checkpoint could be looked at");
}

/// No temporary file, every checkpoint folder complete, and `latest.*` and
/// `best.*` the current checkpoint's model.
fn assert_whole(run: &std::path::Path) {
    let current = run.join(std::fs::read_to_string(run.join("latest")).unwrap().trim());
    let checkpoints = std::fs::read_dir(run.join("checkpoints")).unwrap().map(|e| e.unwrap().path());
    for folder in checkpoints.chain([run.to_path_buf()]) {
        for file in std::fs::read_dir(&folder).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains(".tmp"), "{name} left in {}", folder.display());
        }
        assert!(folder == run || folder.join("state.json").exists(), "{} is half written", folder.display());
    }
    let card = std::fs::read(current.join("model.toml")).unwrap();
    for name in ["latest.toml", "best.toml"] {
        assert!(std::fs::read(run.join(name)).unwrap() == card, "{name} is not {}'s", current.display());
    }
}

/// A fresh run in `dir` trained for `steps` steps, with a checkpoint.
fn trained(config: &TrainConfig, dir: &std::path::Path, steps: usize) -> Trainer<Ad> {
    let mut trainer = Trainer::<Ad>::new(config.clone(), dir, Start::Fresh, &Default::default()).unwrap();
    for _ in 0..steps {
        trainer.train_step().unwrap();
    }
    trainer.checkpoint(None).unwrap();
    trainer
}

/// The model card of a run's latest checkpoint.
fn card(run: &std::path::Path) -> lrm::model::checkpoint::ModelCard {
    lrm::model::checkpoint::read_card(&run.join("latest.toml")).unwrap()
}

#[test]
fn init_starts_from_the_checkpoint_and_carries_its_history_on() {
    let (dir, config) = tiny_run("init", "CVRP", 4);
    // Each stretch is named by its config file's stem.
    let first_config = TrainConfig { source: Some("configs/first.toml".into()), ..config };
    let device = Default::default();
    drop(trained(&first_config, &dir.join("run-1"), 3));

    let mut config = first_config.clone();
    config.source = Some("configs/second.toml".into());
    config.seed = 8;
    config.problem.sizes = lrm::train::config::Sizes::List(vec![8, 12]);
    let start = Start::Init(dir.join("run-1/latest.toml"));
    let mut second = Trainer::<Ad>::new(config.clone(), &dir.join("second"), start, &device).unwrap();
    second.checkpoint(None).unwrap();
    assert!(weights(&dir.join("second")) == weights(&dir.join("run-1")), "an --init run starts from the checkpoint's weights");
    for _ in 0..2 {
        second.train_step().unwrap();
    }
    second.checkpoint(None).unwrap();
    assert!(weights(&dir.join("second")) != weights(&dir.join("run-1")), "the run trains the loaded weights");
    let t = card(&dir.join("second")).trained_on.unwrap();
    let (first_t, second_instances) = (card(&dir.join("run-1")).trained_on.unwrap(), second.state.instances);
    assert_eq!(t.stretches.len(), 2, "{t:?}");
    assert_eq!((t.stretches[0].config.as_str(), t.stretches[1].config.as_str()), ("first", "second"));
    assert_eq!(t.steps, 5);
    assert_eq!(t.instances, first_t.instances + second_instances);
    assert!(first_t.instances == 3 * 32 && second_instances > 0);
    assert_eq!(t.sizes, [8, 12]);
    drop(second);

    // `lrm train --resume` reads the config from the run directory, named otherwise here.
    std::fs::rename(dir.join("second"), dir.join("stretch-2")).unwrap();
    let from_run_dir = TrainConfig { source: None, ..config };
    let mut resumed = Trainer::<Ad>::new(from_run_dir, &dir.join("stretch-2"), Start::Resume, &device).unwrap();
    resumed.train_step().unwrap();
    resumed.checkpoint(None).unwrap();
    let t = card(&dir.join("stretch-2")).trained_on.unwrap();
    assert_eq!((t.stretches.len(), t.steps, t.stretches[1].steps), (2, 6, 3), "a resumed --init run keeps the history: {t:?}");
    assert_eq!(t.stretches[1].config, "second", "a resumed stretch keeps its config's name, not the run directory's");
}

/// A stretch stopped on one machine and resumed on another names both in
/// its card (no hand edit), once however often it is resumed there.
#[test]
fn a_run_resumed_on_another_machine_names_both_in_its_card() {
    let (dir, config) = tiny_run("hardware", "CVRP", 4);
    let run = dir.join("run");
    drop(trained(&config, &run, 2));
    let here = card(&run).trained_on.unwrap().stretches[0].hardware.clone();
    assert!(here.contains(" cores of "), "a fresh run names its machine alone: {here}");
    // The checkpoint as another machine would have written it.
    let latest = run.join(std::fs::read_to_string(run.join("latest")).unwrap().trim());
    let mut state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(latest.join("state.json")).unwrap()).unwrap();
    state["hardware"] = "autodiff<flex> on 64 cores of Elsewhere".into();
    std::fs::write(latest.join("state.json"), state.to_string()).unwrap();
    for step in [3, 4] {
        let mut resumed = Trainer::<Ad>::new(config.clone(), &run, Start::Resume, &Default::default()).unwrap();
        resumed.train_step().unwrap();
        resumed.checkpoint(None).unwrap();
        assert_eq!(resumed.state.step, step);
        let t = card(&run).trained_on.unwrap();
        assert_eq!(t.stretches[0].hardware, format!("autodiff<flex> on 64 cores of Elsewhere to step 2, then {here}"));
    }
}

/// A second stretch with the first one's config continues its instance
/// stream (it would otherwise replay the same instances), and keeps doing so
/// when resumed.
#[test]
fn an_init_stretch_with_the_same_config_draws_the_instances_that_follow() {
    let (dir, config) = tiny_run("init-stream", "CVRP", 4);
    let device = Default::default();
    let first = trained(&config, &dir.join("first"), 3);
    let coords = |t: &Trainer<Ad>, step: usize| {
        use rand::SeedableRng;
        let mut rng = lrm::decode::sampling::Rng::seed_from_u64(1);
        t.batch(step, &mut rng).into_iter().map(|i| i.coords.unwrap()).collect::<Vec<_>>()
    };
    let mut second = Trainer::<Ad>::new(config.clone(), &dir.join("second"), Start::Init(dir.join("first/latest.toml")), &device).unwrap();
    assert_eq!(second.state.first_stream, 3);
    assert!(coords(&second, 0) != coords(&first, 0), "the second stretch does not replay the first's instances");
    assert!(coords(&second, 0) == coords(&first, 3), "it draws those that follow them");
    second.train_step().unwrap();
    second.checkpoint(None).unwrap();
    drop(second);
    let resumed = Trainer::<Ad>::new(config, &dir.join("second"), Start::Resume, &device).unwrap();
    assert_eq!((resumed.state.step, resumed.state.first_stream), (1, 3));
    assert!(coords(&resumed, 1) == coords(&first, 4));
}

#[test]
fn init_from_another_model_or_a_missing_file_fails_clearly() {
    let (dir, config) = tiny_run("init-bad", "TSP", 4);
    let device = Default::default();
    drop(trained(&config, &dir.join("first"), 0));
    let mut wider = config.clone();
    wider.model.overrides.insert("d_model".into(), toml::Value::Integer(64));
    let err = Trainer::<Ad>::new(wider, &dir.join("wider"), Start::Init(dir.join("first/latest.toml")), &device).err().unwrap().to_string();
    assert!(err.contains("d_model = 32 (config: 64)") && err.contains("latest.toml"), "{err}");

    let config_path = config.source.as_ref().unwrap();
    let out = lrm().args(["train", "--config"]).arg(config_path).args(["--init", "no-such-model.toml", "--out"]).arg(dir.join("cli")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-model.toml"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `--init` with a config that only adds encoder layers grows the checkpoint's
/// model: the same greedy costs before the first update, the new layers
/// trained from the first step, the history carried on, resume exact, the
/// growth the same on every run with the seed.
#[test]
fn init_into_a_deeper_config_grows_the_checkpoint_and_keeps_what_it_computes() {
    let (dir, config) = tiny_run("init-deeper", "CVRP", 4);
    let device = Default::default();
    let first = trained(&config, &dir.join("first"), 2);
    let mut deeper = config.clone();
    deeper.model.overrides.insert("n_layers".into(), toml::Value::Integer(4));
    let init = || Start::Init(dir.join("first/latest.toml"));
    let mut grown = Trainer::<Ad>::new(deeper.clone(), &dir.join("deeper"), init(), &device).unwrap();
    assert_eq!(grown.model.n_layers, 4);
    assert_eq!(grown.validate().unwrap(), first.validate().unwrap(), "the grown model decodes as the checkpoint did");

    let new_output = |t: &Trainer<Ad>| match &t.policy {
        lrm::model::Policy::Pointer(p) => p.encoder.layers[3].attention.output.linear.weight.val().abs().sum().into_scalar(),
        _ => unreachable!(),
    };
    assert_eq!(new_output(&grown), 0.0);
    // The first step's loss and rewards (autodiff, before the update) are the checkpoint's.
    let mut same_depth = Trainer::<Ad>::new(config.clone(), &dir.join("same-depth"), init(), &device).unwrap();
    let first_step = |t: &mut Trainer<Ad>| match t.train_step().unwrap() {
        (StepOutcome::Applied { loss, .. }, stats, _) => (loss, stats.reward, stats.mean_reward, stats.infeasible),
        (skipped, ..) => panic!("{skipped:?}"),
    };
    assert_eq!(first_step(&mut grown), first_step(&mut same_depth));
    assert!(new_output(&grown) > 0.0, "the added layers train from the first step");
    grown.checkpoint(None).unwrap();
    let t = card(&dir.join("deeper"));
    let shapes: Vec<_> = t.trained_on.unwrap().stretches.iter().map(|s| (s.n_layers, s.mixed_score)).collect();
    assert_eq!(
        (t.model.n_layers, shapes),
        (4, vec![(Some(2), Some(false)), (Some(4), Some(false))]),
        "each stretch names the depth it trained and its mixed scores"
    );
    drop(grown);
    let resumed = Trainer::<Ad>::new(deeper.clone(), &dir.join("deeper"), Start::Resume, &device).unwrap();
    assert_eq!(resumed.state.step, 1);

    let mut again = Trainer::<Ad>::new(deeper.clone(), &dir.join("again"), init(), &device).unwrap();
    again.checkpoint(None).unwrap();
    let deeper_config = deeper.clone();
    let mut once_more = Trainer::<Ad>::new(deeper, &dir.join("once-more"), init(), &device).unwrap();
    once_more.checkpoint(None).unwrap();
    assert!(weights(&dir.join("again")) == weights(&dir.join("once-more")), "the added layers are drawn from the run's seed");
    let other_seed = TrainConfig { seed: 8, ..deeper_config.clone() };
    let mut other = Trainer::<Ad>::new(other_seed, &dir.join("other-seed"), init(), &device).unwrap();
    other.checkpoint(None).unwrap();
    assert!(weights(&dir.join("again")) != weights(&dir.join("other-seed")), "another seed draws other layers");
}

#[test]
fn resuming_with_a_model_that_has_gained_a_block_fails_instead_of_dropping_it() {
    let (dir, config) = tiny_run("resume-mixed", "CVRP", 8);
    drop(trained(&config, &dir.join("run"), 1));
    // The run's config now resolves to a model with mixed scores its checkpoint lacks.
    let mut grown = config;
    grown.model.overrides.insert("mixed_score".into(), toml::Value::Boolean(true));
    let err = Trainer::<Ad>::new(grown, &dir.join("run"), Start::Resume, &Default::default()).err().expect("refused");
    assert!(err.to_string().contains("parameters") && err.to_string().contains("mixed_score"), "{err}");
}
