//! Generator statistics match the seed papers' rules.

use std::collections::HashMap;

use lrm::problem::generate::{mtvrp, Distribution, GeneratorConfig, Hardness, Problem};
use lrm::problem::variant::MTVRP_NAMES;
use lrm::problem::{evaluate, Backhaul, Instance, Solution, Variant};

fn config(name: &str) -> GeneratorConfig {
    GeneratorConfig::new(Problem::Variant(name.parse().unwrap()))
}

#[test]
fn capacity_follows_routefinder_per_size() {
    let expected = [(10, 30.0), (20, 30.0), (21, 34.0), (50, 40.0), (100, 50.0), (1000, 230.0), (2000, 260.0), (5000, 350.0)];
    for (n, q) in expected {
        assert_eq!(mtvrp::capacity(n), q, "n = {n}");
    }
    for n in [10, 50, 100] {
        assert_eq!(config("CVRP").generate(n, 1, 1)[0].capacity, Some(mtvrp::capacity(n)));
    }
}

#[test]
fn demands_are_integers_1_to_9_and_a_fifth_are_backhauls() {
    let instances = config("VRPB").generate(100, 60, 2);
    let (mut customers, mut backhauls) = (0usize, 0usize);
    for inst in &instances {
        for j in 1..=inst.num_customers() {
            let (l, b) = (inst.linehaul[j], inst.backhaul_of(j));
            assert!(l == 0.0 || b == 0.0, "a customer is linehaul or backhaul");
            let d = l + b;
            assert!((1.0..=9.0).contains(&d) && d.fract() == 0.0, "demand {d}");
            customers += 1;
            backhauls += (b > 0.0) as usize;
        }
    }
    let share = backhauls as f64 / customers as f64;
    assert!((0.18..=0.22).contains(&share), "backhaul share {share}");
    // Without B the backhaul amount becomes linehaul demand: every customer is linehaul.
    for inst in config("CVRP").generate(50, 10, 2) {
        assert!(inst.backhaul.is_none());
        assert!(inst.linehaul[1..].iter().all(|&d| (1.0..=9.0).contains(&d)));
    }
}

#[test]
fn every_time_window_is_reachable_from_and_back_to_the_depot() {
    for name in ["VRPTW", "OVRPBLTW", "AVRPTW"] {
        for inst in config(name).generate(100, 20, 3) {
            let tw = inst.time_windows.as_ref().unwrap();
            assert_eq!(tw[0], [0.0, mtvrp::MAX_TIME as f32 as f64]);
            for (j, &[e, l]) in tw.iter().enumerate().skip(1) {
                let s = inst.service[j];
                assert!((0.15..=0.18).contains(&(s as f32 as f64)), "service {s}");
                assert!((0.18 - 1e-6..=0.2 + 1e-6).contains(&(l - e)), "width {}", l - e);
                assert!(inst.distance(0, j) <= e + 1e-6, "{name}: window opens before the vehicle can arrive");
                let back = l + s + inst.distance(j, 0);
                assert!(back <= mtvrp::MAX_TIME + 1e-6, "{name}: customer {j} cannot return by 4.6 ({back})");
            }
        }
    }
}

#[test]
fn distance_limits_lie_in_routefinders_range() {
    for inst in config("VRPL").generate(50, 50, 4) {
        let far = (1..inst.num_nodes()).map(|j| inst.distance(0, j)).fold(0.0, f64::max);
        let limit = inst.distance_limit.unwrap();
        assert!(limit >= 2.0 * far + 1e-7, "limit {limit} below twice the farthest customer {far}");
        assert!(limit <= 2.8f64.max(2.0 * far + 2e-6) + 1e-6, "limit {limit}");
    }
}

#[test]
fn mixed_batches_hold_each_of_the_16_variants_about_equally() {
    let instances = GeneratorConfig::new(Problem::Mixed { mixed_backhaul: false }).generate(10, 4000, 5);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for inst in &instances {
        *counts.entry(inst.variant.to_string()).or_default() += 1;
    }
    assert_eq!(counts.len(), 16);
    for name in MTVRP_NAMES {
        let c = counts[name];
        assert!((190..=310).contains(&c), "{name}: {c} of 4000 (expected 250)");
    }
    let mb = GeneratorConfig::new(Problem::Mixed { mixed_backhaul: true }).generate(10, 200, 5);
    assert!(mb.iter().any(|i| i.variant.backhaul == Backhaul::Mixed));
    assert!(mb.iter().all(|i| i.variant.backhaul != Backhaul::Classic));
}

#[test]
fn hard_tsptw_instances_are_feasible_by_construction() {
    let cfg = GeneratorConfig { hardness: Hardness::Hard, ..config("TSPTW") };
    for i in 0..40 {
        let (inst, tour) = cfg.generate_one(49, 8, i);
        let eval = evaluate(&inst, &Solution::new(vec![tour.unwrap()]));
        assert!(eval.is_feasible(), "{}: {:?}", inst.name, eval.violation);
    }
    for hardness in [Hardness::Easy, Hardness::Medium] {
        let cfg = GeneratorConfig { hardness, ..config("TSPTW") };
        assert_eq!(cfg.generate(49, 20, 8).len(), 20, "every window reachable, so every instance valid");
    }
}

/// LMask's feasibility witness: visit ports in decreasing draft limit.
fn draft_order(inst: &Instance) -> Solution {
    let limits = inst.draft_limit.as_ref().unwrap();
    let mut order: Vec<usize> = (1..inst.num_nodes()).collect();
    order.sort_by(|&a, &b| limits[b].total_cmp(&limits[a]));
    Solution::new(vec![order])
}

#[test]
fn tspdl_instances_are_feasible_by_construction() {
    for (hardness, share) in [(Hardness::Hard, 0.9), (Hardness::Medium, 0.75)] {
        let cfg = GeneratorConfig { hardness, ..config("TSPDL") };
        for inst in cfg.generate(49, 30, 9) {
            let eval = evaluate(&inst, &draft_order(&inst));
            assert!(eval.is_feasible(), "{}: {:?}", inst.name, eval.violation);
            let constrained = inst.draft_limit.as_ref().unwrap()[1..].iter().filter(|&&l| l < 49.0).count();
            assert_eq!(constrained, (share * 50.0) as usize, "{hardness}");
        }
    }
}

#[test]
fn same_seed_same_instances_whatever_the_count() {
    let cfg = GeneratorConfig { distribution: "mixed".parse().unwrap(), ..GeneratorConfig::new(Problem::Mixed { mixed_backhaul: false }) };
    let a = cfg.generate(30, 10, 42);
    let b = cfg.generate(30, 4, 42);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.coords, y.coords);
        assert_eq!(x.variant, y.variant);
        assert_eq!(x.time_windows, y.time_windows);
    }
    assert_ne!(a[0].coords, cfg.generate(30, 1, 43)[0].coords);
}

#[test]
fn coordinate_distributions_stay_in_the_unit_square_and_cluster() {
    let spread = |d: Distribution| {
        let cfg = GeneratorConfig { distribution: d, ..config("CVRP") };
        let inst = &cfg.generate(500, 1, 3)[0];
        let c = inst.coords.as_ref().unwrap();
        assert!(c.iter().flatten().all(|x| (0.0..=1.0).contains(x)));
        // Mean distance to the nearest other point: clusters make it smaller.
        let nearest: f64 = (0..c.len()).map(|i| (0..c.len()).filter(|&j| j != i).map(|j| inst.distance(i, j)).fold(f64::MAX, f64::min)).sum();
        nearest / c.len() as f64
    };
    let uniform = spread(Distribution::Uniform);
    let clustered = spread("clustered".parse().unwrap());
    let mixed = spread("mixed".parse().unwrap());
    assert!(clustered < 0.6 * uniform, "clustered {clustered} vs uniform {uniform}");
    assert!(clustered < mixed && mixed < uniform, "mixed {mixed} between");
}

#[test]
fn asymmetric_matrices_are_asymmetric_and_metric() {
    for inst in config("ATSP").generate(30, 3, 6).iter().chain(&config("ACVRP").generate(30, 3, 6)) {
        let n = inst.num_nodes();
        let mut asymmetric = false;
        for i in 0..n {
            for j in 0..n {
                asymmetric |= inst.distance(i, j) != inst.distance(j, i);
                for k in 0..n {
                    assert!(inst.distance(i, j) <= inst.distance(i, k) + inst.distance(k, j) + 1e-6);
                }
            }
        }
        assert!(asymmetric);
        let v: Variant = inst.variant;
        assert!(v.asymmetric, "the name says A");
    }
}

mod cities {
    use lrm::problem::generate::city::{generate, City, CitySampling};
    use lrm::problem::generate::Problem;
    use lrm::problem::{evaluate, Solution};

    use crate::common::{close, lrm, temp_dir, vrpcheck_many};

    #[test]
    fn a_synthetic_city_is_deterministic_asymmetric_not_metric_and_round_trips() {
        let city = City::synthetic(5, 300);
        assert_eq!(city, City::synthetic(5, 300), "same seed, same city");
        assert_ne!(city.distance, City::synthetic(6, 300).distance);
        let n = city.len();
        let d = |i: usize, j: usize| city.distance[i * n + j];
        let t = |i: usize, j: usize| city.duration[i * n + j];
        assert!((0..n).all(|i| d(i, i) == 0.0 && t(i, i) == 0.0));
        let asymmetric = (0..n).flat_map(|i| (0..n).map(move |j| (i, j))).filter(|&(i, j)| (d(i, j) - d(j, i)).abs() > 1e-9).count();
        assert!(asymmetric > n, "one-way streets make the matrix asymmetric ({asymmetric} pairs)");
        let detours =
            (0..60).flat_map(|i| (0..60).flat_map(move |j| (0..60).map(move |k| (i, j, k)))).filter(|&(i, j, k)| d(i, k) > d(i, j) + d(j, k) + 1e-9).count();
        assert!(detours > 0, "distances of fastest routes break the triangle inequality somewhere");
        let speed = (0..n).flat_map(|i| (0..n).map(move |j| (i, j))).filter(|&(i, j)| i != j && t(i, j) > 0.0).map(|(i, j)| 60.0 * d(i, j) / t(i, j));
        assert!(speed.clone().all(|kmh| (24.9..=60.1).contains(&kmh)), "speeds between 25 and 60 km/h");
        let path = temp_dir("city").join("c.npz");
        city.write(&path).unwrap();
        assert_eq!(City::read(&path).unwrap(), city);
    }

    #[test]
    fn city_instances_follow_rrnco_sampling_and_are_feasible_by_construction() {
        let cities = vec![City::synthetic(7, 400), City::synthetic(8, 400)];
        let instances = generate(&cities, Problem::Variant("VRPTW".parse().unwrap()), 50, 16, 3, CitySampling::Uniform).unwrap();
        let again = generate(&cities, Problem::Variant("VRPTW".parse().unwrap()), 50, 16, 3, CitySampling::Uniform).unwrap();
        for (a, b) in instances.iter().zip(&again) {
            assert!(a.name == b.name && a.weights == b.weights && a.durations == b.durations && a.time_windows == b.time_windows, "deterministic");
        }
        for inst in &instances {
            assert_eq!(inst.num_customers(), 50);
            assert_eq!(inst.variant.to_string(), "AVRPTW");
            let coords = inst.coords.as_ref().unwrap();
            for axis in 0..2 {
                let lo = coords.iter().map(|p| p[axis]).fold(f64::INFINITY, f64::min);
                let hi = coords.iter().map(|p| p[axis]).fold(f64::NEG_INFINITY, f64::max);
                assert!(lo == 0.0 && close(hi, 1.0), "{}: axis {axis} in [{lo}, {hi}]", inst.name);
            }
            let durations = inst.durations.as_ref().unwrap();
            assert!(close(durations.iter().copied().fold(0.0, f64::max), 1.0), "durations normalised by their largest");
            let alone = Solution::new((1..=50).map(|c| vec![c]).collect());
            assert!(evaluate(inst, &alone).is_feasible(), "{}: every customer can be served alone", inst.name);
        }
        // Distinct points: no two customers of an instance share a city point.
        let city = &cities[0];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let drawn = city.draw(50, CitySampling::Uniform, &mut rng);
        let mut unique = drawn.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 51);
        // A cluster is the centre and its nearest points.
        let drawn = city.draw(50, CitySampling::Cluster, &mut rng);
        let centre = city.points[drawn[0]];
        let d2 = |i: usize| (city.points[i][0] - centre[0]).powi(2) + (city.points[i][1] - centre[1]).powi(2);
        let far = drawn.iter().map(|&i| d2(i)).fold(0.0, f64::max);
        assert!((0..city.len()).filter(|i| !drawn.contains(i)).all(|i| d2(i) >= far));
        assert!(generate(&cities, Problem::Variant("TSPTW".parse().unwrap()), 10, 1, 1, CitySampling::Uniform).is_err());
        assert!(generate(&cities, Problem::Variant("CVRP".parse().unwrap()), 400, 1, 1, CitySampling::Uniform).is_err(), "more points than the city has");
    }

    #[test]
    fn lrm_city_and_generate_city_make_instances_that_solve_and_check_with_durations() {
        let dir = temp_dir("city-cli");
        let city = dir.join("city.npz");
        assert!(lrm().args(["city", "--seed", "2", "--points", "200", "--out"]).arg(&city).status().unwrap().success());
        let out = dir.join("instances");
        let status =
            lrm().args(["generate", "--problem", "VRPTW", "--size", "30", "--count", "3", "--city"]).arg(&city).arg("--out").arg(&out).status().unwrap();
        assert!(status.success());
        let mut files: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let sols = dir.join("sols");
        let solved = lrm().arg("solve").args(&files).arg("--out").arg(&sols).arg("--json").output().unwrap();
        assert!(solved.status.success(), "{}", String::from_utf8_lossy(&solved.stderr));
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&solved.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let pairs: Vec<_> = files.iter().zip(&lines).map(|(f, l)| (f.clone(), std::path::PathBuf::from(l["solution"].as_str().unwrap()))).collect();
        for (line, verdict) in lines.iter().zip(vrpcheck_many(&pairs).unwrap_or_default()) {
            assert_eq!(verdict.feasible, Some(true), "{}: {:?}", line["instance"], verdict.violation);
            assert!(close(verdict.cost.unwrap(), line["cost"].as_f64().unwrap()));
        }
    }

    use rand::SeedableRng;
}
