//! `curves.svg`: the training curves a run draws beside its checkpoints.

use burn::tensor::backend::AutodiffBackend;

use super::Trainer;
use crate::error::Result;
use crate::plot;

impl<B: AutodiffBackend> Trainer<B> {
    /// A plot that cannot be drawn does not stop training (only the root draws).
    pub(super) fn plot_or_warn(&self) {
        if self.records.is_none() {
            return;
        }
        if let Err(e) = self.plot() {
            tracing::warn!("training curves not drawn: {e}");
        }
    }

    /// `curves.svg`: loss, reward and gradient norm against the step, the
    /// reward per variant, and the validation gap of every set against the
    /// instances seen (when validation ran).
    fn plot(&self) -> Result<()> {
        let Some((run, metrics)) = &self.records else { return Ok(()) };
        let columns = metrics.read()?;
        let column = |name: &str| columns.iter().find(|(c, _)| c == name).map(|(_, v)| v.as_slice()).unwrap_or_default();
        let against = |x: &[f64], y: &[f64]| -> Vec<(f64, f64)> { x.iter().copied().zip(y.iter().copied()).filter(|p| p.1.is_finite()).collect() };
        let (steps, instances) = (column("step"), column("instances"));
        let mut panels = vec![];
        for (name, title) in [("loss", "loss"), ("reward", "mean reward"), ("grad_norm", "gradient norm (before clipping)")] {
            let mut panel = plot::Panel::new(title, "step", name);
            panel.series.push(plot::Series::new("", against(steps, column(name)), plot::Style::Line));
            panels.push(panel);
        }
        let per_variant = |prefix: &str| -> Vec<(String, &[f64])> {
            columns
                .iter()
                .filter(|(c, _)| c.starts_with(prefix) && !c.ends_with("_infeasible"))
                .map(|(c, v)| (c[prefix.len()..].to_string(), v.as_slice()))
                .collect()
        };
        let mut rewards = plot::Panel::new("reward per variant", "step", "mean reward");
        rewards.series = per_variant("reward_").into_iter().map(|(v, ys)| plot::Series::new(v, against(steps, ys), plot::Style::Line)).collect();
        panels.push(rewards);
        let unit = if self.validation.iter().all(|v| v.reference.is_some()) { "gap to reference (%)" } else { "mean cost" };
        let mut gaps = plot::Panel::new("validation", "instances seen", unit);
        gaps.series = per_variant("val_").into_iter().map(|(set, ys)| plot::Series::new(set, against(instances, ys), plot::Style::Line)).collect();
        for s in &mut gaps.series {
            if s.label == "score" {
                s.label = "mean score".into();
            }
        }
        panels.push(gaps);
        let _writing = super::run_dir::checkpoint_lock();
        plot::write(&run.path("curves.svg"), &panels)
    }
}
