//! Every strategy on every variant gives solutions that `problem::rules` and
//! vrpcheck both accept at the same cost, and the strategies keep their
//! promises to each other (beam 1 = greedy, more search is never worse).

use lrm::decode::{self, beam, multistart, rrc, sampling, Batch, DecodeOptions, Outcome, Sampling, Selector, Starts, Strategy};
use lrm::problem::io::{solution, vrplib};
use lrm::problem::variant::all_variants;
use lrm::problem::{evaluate, Instance, Variant};

use crate::common::{close, generated as instances, small_policy as small, temp_dir, vrpcheck_many};

fn strategies() -> Vec<(&'static str, DecodeOptions)> {
    let base = DecodeOptions { batch_size: 8, ..DecodeOptions::default() };
    vec![
        ("greedy", base.clone()),
        ("sample", DecodeOptions { strategy: Strategy::Sample, sampling: Sampling { samples: 4, top_k: 3, ..Sampling::default() }, ..base.clone() }),
        ("multi-start x8", DecodeOptions { starts: Starts::All, augment: true, ..base.clone() }),
        ("beam", DecodeOptions { strategy: Strategy::Beam, beam_width: 3, ..base.clone() }),
        ("rrc", DecodeOptions { strategy: Strategy::Rrc, rrc_rounds: 2, ..base.clone() }),
        ("lazymask", DecodeOptions { strategy: Strategy::LazyMask, backtrack_budget: 50, ..base }),
    ]
}

#[test]
fn every_strategy_on_every_variant_gives_solutions_vrpcheck_accepts_at_the_same_cost() {
    let (config, policy) = small("rf-te");
    let dir = temp_dir("decode-every-variant");
    let variants: Vec<Variant> = all_variants().into_iter().filter(|v| !(v.asymmetric && v.is_tsp() && (v.time_windows || v.draft_limit))).collect();
    let mut pairs = vec![];
    let mut expected = vec![];
    for v in &variants {
        let insts: Vec<Instance> = [3, 4].iter().flat_map(|&seed| instances(*v, 8, 2, seed)).collect();
        for (name, options) in strategies() {
            let outcomes = decode::solve(&policy, &config, &insts, &options, &Default::default()).unwrap();
            for (k, (inst, out)) in insts.iter().zip(&outcomes).enumerate() {
                let Some(found) = &out.best else {
                    assert!(v.is_tsp() && v.time_windows, "{name} on {v}: no feasible solution");
                    continue;
                };
                let eval = evaluate(inst, &found.solution);
                assert!(eval.is_feasible() && close(eval.cost, found.evaluation.cost), "{name} on {v}: {eval:?}");
                let stem = dir.join(format!("{v}-{}-{k}", name.replace(' ', "_")));
                vrplib::write(&stem.with_extension("vrp"), inst).unwrap();
                solution::write(&stem.with_extension("sol"), &found.solution, eval.cost).unwrap();
                pairs.push((stem.with_extension("vrp"), stem.with_extension("sol")));
                expected.push((format!("{name} on {v} #{k}"), eval.cost));
            }
        }
    }
    let verdicts = vrpcheck_many(&pairs).unwrap_or_default();
    for ((what, cost), verdict) in expected.iter().zip(&verdicts) {
        assert_eq!(verdict.feasible, Some(true), "{what}: vrpcheck says {:?}", verdict.violation);
        assert!(close(verdict.cost.unwrap(), *cost), "{what}: vrpcheck cost {:?}, lrm {cost}", verdict.cost);
    }
    assert!(pairs.len() > variants.len() * 20, "{} solutions checked", pairs.len());
}

fn costs(outcomes: &[Outcome]) -> Vec<f64> {
    outcomes.iter().map(|o| o.cost().expect("a feasible solution")).collect()
}

#[test]
fn more_search_is_never_worse() {
    let (config, policy) = small("pomo");
    let device = Default::default();
    for v in ["CVRP", "VRPBLTW", "OVRPTW", "TSP"] {
        let insts = instances(v.parse().unwrap(), 12, 4, 5);
        let batch = Batch::new(&policy, &config, &insts, false, &device);
        let greedy = costs(&multistart::decode(&batch, Starts::One, &mut Selector::Greedy).unwrap());
        let beam1 = costs(&beam::decode(&batch, 1).unwrap());
        assert_eq!(beam1, greedy, "{v}: beam width 1 is greedy");
        let beam4 = costs(&beam::decode(&batch, 4).unwrap());
        assert!(beam4.iter().zip(&greedy).all(|(b, g)| b <= g), "{v}: beam {beam4:?} vs greedy {greedy:?}");

        let augmented = Batch::new(&policy, &config, &insts, true, &device);
        let aug = costs(&multistart::decode(&augmented, Starts::One, &mut Selector::Greedy).unwrap());
        assert!(aug.iter().zip(&greedy).all(|(a, g)| a <= g), "{v}: x8 {aug:?} vs none {greedy:?}");
        let all = costs(&multistart::decode(&augmented, Starts::All, &mut Selector::Greedy).unwrap());
        assert!(all.iter().zip(&aug).all(|(a, g)| a <= g), "{v}: multi-start x8 {all:?} vs x8 {aug:?}");

        let sampling = Sampling { samples: 6, ..Sampling::default() };
        let mut env = batch.env(sampling.samples);
        batch.construct(&mut env, &mut Selector::Sample { sampling: &sampling, rng: &mut sampling::rng(9) }).unwrap();
        let best = costs(&decode::best_of(&insts, &env, None));
        for (i, inst) in insts.iter().enumerate() {
            let first = evaluate(inst, &env.rollout(i * sampling.samples).solution()).cost;
            assert!(best[i] <= first, "{v}: best of 6 samples {} vs the first {first}", best[i]);
        }

        let mut outcomes = multistart::decode(&batch, Starts::One, &mut Selector::Greedy).unwrap();
        let mut rng = sampling::rng(3);
        for _ in 0..3 {
            let before = costs(&outcomes);
            rrc::improve(&batch, &mut outcomes, &mut rng).unwrap();
            let after = costs(&outcomes);
            assert!(after.iter().zip(&before).all(|(a, b)| a <= b), "{v}: RRC {after:?} after {before:?}");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_solutions() {
    let (config, policy) = small("rf-te");
    let insts = instances("VRPLTW".parse().unwrap(), 10, 3, 8);
    let options = DecodeOptions { strategy: Strategy::Rrc, rrc_rounds: 3, sampling: Sampling::default(), ..DecodeOptions::default() };
    let run = |o: &DecodeOptions| decode::solve(&policy, &config, &insts, o, &Default::default()).unwrap();
    assert_eq!(run(&options), run(&options));
    let sample = DecodeOptions { strategy: Strategy::Sample, ..options };
    assert_eq!(run(&sample), run(&sample));
}

#[test]
fn a_time_limit_keeps_improving_every_batch_until_the_deadline() {
    let (config, policy) = small("pomo");
    let mut insts = instances("CVRP".parse().unwrap(), 12, 2, 6);
    insts.extend(instances("CVRP".parse().unwrap(), 15, 2, 6));
    let device = Default::default();
    let plain = decode::solve(&policy, &config, &insts, &DecodeOptions::default(), &device).unwrap();
    let limit = std::time::Duration::from_millis(1500);
    let start = std::time::Instant::now();
    let anytime = decode::solve(&policy, &config, &insts, &DecodeOptions { time_limit: Some(limit), ..DecodeOptions::default() }, &device).unwrap();
    let took = start.elapsed();
    assert!(took >= limit && took < limit * 3, "{took:?}");
    for (p, a) in plain.iter().zip(&anytime) {
        assert!(a.cost().unwrap() <= p.cost().unwrap());
        assert!(a.trajectories > p.trajectories, "every batch got time: {} vs {}", a.trajectories, p.trajectories);
    }
}

#[test]
fn auto_decoding_backtracks_where_the_rules_can_dead_end_a_rollout() {
    let b = crate::common::data().join("benchmarks");
    let auto = DecodeOptions { strategy: Strategy::Auto, ..DecodeOptions::default() };
    let read = |p: &str| lrm::problem::io::read_instance(&b.join(p), None).unwrap();
    let tsptw = auto.for_instance(&read("tsptw/n20w20.001.vrp"));
    assert_eq!((tsptw.strategy, tsptw.look_ahead), (Strategy::LazyMask, 2), "LMask's decoding");
    let fleet = auto.for_instance(&read("vrptw/C101.vrp"));
    assert_eq!((fleet.strategy, fleet.look_ahead), (Strategy::LazyMask, 1), "VEHICLES 25: backtrack out of dead ends");
    assert_eq!(auto.for_instance(&read("cvrp/X-n101-k25.vrp")).strategy, Strategy::Greedy, "no fleet limit");
    let chosen = DecodeOptions { strategy: Strategy::Beam, ..auto.clone() };
    assert_eq!(chosen.for_instance(&read("vrptw/C101.vrp")), chosen, "a chosen strategy stays");
}
