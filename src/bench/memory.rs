//! Peak memory of one phase of a benchmark.
//!
//! Linux keeps the process's peak resident set (VmHWM in /proc/self/status)
//! and resets it to the current resident set when 5 is written to
//! /proc/self/clear_refs. A phase is measured by resetting, running it and
//! reading the peak back: what the process held at its worst during the
//! phase, the memory kept from before included. Where either file is missing
//! or not writable (other systems, some sandboxes) there is no figure, rather
//! than the whole process's peak passed off as the phase's.
//!
//! GPU memory is not resident memory: on CUDA and wgpu these figures are the
//! host side only.

/// Run `phase`; its result and the peak resident memory during it, in MiB.
pub fn peak_during<T>(phase: impl FnOnce() -> T) -> (T, Option<f64>) {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let out = phase();
    (out, if reset { peak_mib() } else { None })
}

/// The process's peak resident set since the last reset, in MiB.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_that_allocates_shows_in_its_peak_and_not_in_the_next() {
        let (_, big) = peak_during(|| {
            let v = vec![1u8; 256 << 20];
            std::hint::black_box(&v);
        });
        let (_, small) = peak_during(|| std::hint::black_box(1 + 1));
        if let (Some(big), Some(small)) = (big, small) {
            assert!(big >= 256.0 && small < big, "256 MiB touched: {big} MiB, then {small} MiB");
        }
    }
}
