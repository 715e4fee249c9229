//! The compute backend, chosen at run time: `--device cpu|cuda[:N]|wgpu[:N]`.
//!
//! The default build has the pure-Rust `flex` CPU backend; `--features cuda`
//! and `--features wgpu` add GPUs. Code that needs a backend implements
//! [`BackendJob`] once, generically, and [`run_on`] picks the backend; nothing
//! else in `lrm` knows which one runs.

use std::fmt;
use std::str::FromStr;

use burn::backend::Autodiff;
use burn::tensor::backend::AutodiffBackend;

use crate::error::{Error, Result};

/// A device named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    #[default]
    Cpu,
    Cuda(usize),
    /// `None`: wgpu's default adapter.
    Wgpu(Option<usize>),
}

impl FromStr for DeviceSpec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        let (kind, index) = match lower.split_once(':') {
            Some((k, i)) => (k.to_string(), Some(i.parse::<usize>().map_err(|_| format!("device {s:?}: {i:?} is not a device index"))?)),
            None => (lower.clone(), None),
        };
        match (kind.as_str(), index) {
            ("cpu", None) => Ok(DeviceSpec::Cpu),
            ("cuda", i) => Ok(DeviceSpec::Cuda(i.unwrap_or(0))),
            ("wgpu", i) => Ok(DeviceSpec::Wgpu(i)),
            _ => Err(format!("unknown device {s:?} (expected cpu, cuda[:N] or wgpu[:N])")),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Cpu => write!(f, "cpu"),
            DeviceSpec::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceSpec::Wgpu(None) => write!(f, "wgpu"),
            DeviceSpec::Wgpu(Some(i)) => write!(f, "wgpu:{i}"),
        }
    }
}

/// Keep freed memory in the process for the next tensor of the same size.
///
/// Burn's CPU backend allocates a fresh buffer for every op's output; glibc
/// serves buffers above 32 MiB (a batch's activations) with `mmap` and hands
/// them back on free, so every such op pays for the kernel zeroing fresh
/// pages (a fifth of a multi-start x8 decoding's time on two cores). Served
/// from the heap and never trimmed, the same pages are reused. Call once, at
/// start-up, before any thread allocates; elsewhere than Linux with glibc it
/// does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        // One arena: other threads' arenas are mmap'd heaps that glibc shrinks.
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// Work that runs on whichever backend the user chose.
pub trait BackendJob {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Self::Output>;
}

/// Work that runs on several devices of one backend (data-parallel peers).
pub trait DevicesJob {
    type Output;
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Result<Self::Output>;
}

/// A one-device job as a job on devices: it runs on the first.
struct OnFirst<J>(J);

impl<J: BackendJob> DevicesJob for OnFirst<J> {
    type Output = J::Output;
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Result<J::Output> {
        self.0.run::<B>(devices.into_iter().next().expect("run_on gives one device"))
    }
}

/// Run `job` on the backend of `spec`, or say how to get that backend.
pub fn run_on<J: BackendJob>(spec: DeviceSpec, job: J) -> Result<J::Output> {
    run_on_devices(&[spec], OnFirst(job))
}

/// Run `job` on the devices `specs` (at least one, all of one backend), or
/// say how to get that backend.
pub fn run_on_devices<J: DevicesJob>(specs: &[DeviceSpec], job: J) -> Result<J::Output> {
    let Some(&first) = specs.first() else { return Err(Error::Failure("no device given".into())) };
    if specs.iter().any(|s| std::mem::discriminant(s) != std::mem::discriminant(&first)) {
        let names: Vec<String> = specs.iter().map(ToString::to_string).collect();
        return Err(Error::Failure(format!("devices {}: the devices of one run must all be of one backend", names.join(","))));
    }
    match first {
        DeviceSpec::Cpu => job.run::<Autodiff<burn::backend::Flex>>(specs.iter().map(|_| Default::default()).collect()),
        #[cfg(feature = "cuda")]
        DeviceSpec::Cuda(_) => {
            let architecture = cuda_driver::check(specs)?;
            keep_compiled_kernels(architecture);
            let cuda = |s: &DeviceSpec| match s {
                DeviceSpec::Cuda(i) => burn::backend::cuda::CudaDevice::new(*i),
                _ => unreachable!("checked: one backend"),
            };
            job.run::<Autodiff<burn::backend::Cuda>>(specs.iter().map(cuda).collect())
        }
        #[cfg(feature = "wgpu")]
        DeviceSpec::Wgpu(_) => {
            let wgpu = |s: &DeviceSpec| match s {
                DeviceSpec::Wgpu(i) => i.map_or(burn::backend::wgpu::WgpuDevice::DefaultDevice, burn::backend::wgpu::WgpuDevice::DiscreteGpu),
                _ => unreachable!("checked: one backend"),
            };
            job.run::<Autodiff<burn::backend::Wgpu>>(specs.iter().map(wgpu).collect())
        }
        #[allow(unreachable_patterns)]
        other => Err(not_compiled(other)),
    }
}

/// Keep the CUDA kernels CubeCL compiles on disk, for the next run.
///
/// CubeCL compiles each kernel with NVRTC at its first launch in a process
/// and keeps it only in memory unless its configuration names a cache, so
/// every run compiled its kernels over again. On an H200, 32 CVRP instances
/// of 100 customers (every start, x8) took 147 s in the first run and 3.4 s
/// in the next, kernels and autotune results both on disk
/// (scripts/gpu-check, 2026-12-04; how the time split between the two
/// caches was not measured).
///
/// Where the user's configuration (`cubecl.toml`, or `burn.toml`'s
/// `[cubecl]` section, in the working directory or above) names no cache,
/// the kernels go to `kernels-<architecture>` beside CubeCL's autotune
/// results (by default the `target/` of the Cargo project around the working
/// directory, else `~/.cache/cubecl` on Linux). One folder per GPU
/// architecture, since CubeCL's cache key leaves the architecture out; no
/// cache where the devices' architectures differ (`architecture` is `None`)
/// or the folder cannot be written, since CubeCL panics on a cache it cannot
/// write. Call it before the backend reads the configuration; it does
/// nothing once something has read or set it.
#[cfg(feature = "cuda")]
fn keep_compiled_kernels(architecture: Option<String>) {
    use cubecl_runtime::config::{cache::CacheConfig, CubeClRuntimeConfig, RuntimeConfig};
    let mut slot = CubeClRuntimeConfig::storage().lock();
    if slot.is_some() {
        return;
    }
    let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
    if config.compilation.cache.is_none() {
        let folder = architecture.map(|arch| config.autotune.cache.root().join(format!("kernels-{arch}")));
        config.compilation.cache = folder.filter(|f| writable(f)).map(CacheConfig::File);
    }
    *slot = Some(std::sync::Arc::new(config));
}

/// Whether files can be written in `folder` (made if missing).
#[cfg(feature = "cuda")]
fn writable(folder: &std::path::Path) -> bool {
    let probe = folder.join(".lrm-probe");
    std::fs::create_dir_all(folder).is_ok() && std::fs::write(&probe, b"").is_ok() && std::fs::remove_file(&probe).is_ok()
}

fn not_compiled(spec: DeviceSpec) -> Error {
    let feature = match spec {
        DeviceSpec::Cuda(_) => "cuda",
        _ => "wgpu",
    };
    Error::Failure(format!("device {spec}: this lrm was built without the {feature} backend; rebuild with `cargo build --release --features {feature}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse_and_print_both_ways() {
        for (text, spec) in [("cpu", DeviceSpec::Cpu), ("cuda:1", DeviceSpec::Cuda(1)), ("wgpu", DeviceSpec::Wgpu(None)), ("wgpu:0", DeviceSpec::Wgpu(Some(0)))]
        {
            assert_eq!(text.parse::<DeviceSpec>().unwrap(), spec);
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!("CUDA".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        assert!("cuda:x".parse::<DeviceSpec>().is_err());
        assert!("tpu".parse::<DeviceSpec>().is_err());
    }

    struct Sum;

    impl BackendJob for Sum {
        type Output = f32;
        fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<f32> {
            use burn::tensor::{ElementConversion, Tensor};
            Ok(Tensor::<B, 1>::from_floats([1.0, 2.0, 3.5], &device).sum().into_scalar().elem())
        }
    }

    #[test]
    fn jobs_run_on_the_cpu_and_missing_backends_say_how_to_get_them() {
        assert_eq!(run_on(DeviceSpec::Cpu, Sum).unwrap(), 6.5);
        if !cfg!(feature = "cuda") {
            let err = run_on(DeviceSpec::Cuda(0), Sum).unwrap_err().to_string();
            assert!(err.contains("--features cuda"), "{err}");
        }
        if !cfg!(feature = "wgpu") {
            let err = run_on(DeviceSpec::Wgpu(None), Sum).unwrap_err().to_string();
            assert!(err.contains("--features wgpu"), "{err}");
        }
    }
}

/// The NVIDIA driver, asked before Burn's CUDA backend starts: that backend
/// panics in a thread of its own where the driver is missing or does not
/// match, or a device does not exist, and `lrm` must say so instead.
#[cfg(feature = "cuda")]
mod cuda_driver {
    use super::DeviceSpec;
    use crate::error::{Error, Result};

    const LIBRARY: &str = if cfg!(windows) { "nvcuda.dll" } else { "libcuda.so.1" };
    const COMPAT: &str = "a toolkit's compat/ copy of libcuda is probably first on LD_LIBRARY_PATH";
    /// CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE (cuda.h).
    const MISMATCH: [i32; 2] = [803, 804];

    /// `Ok` when the driver loads, starts, and has every device of `specs`,
    /// with the devices' common architecture (`sm_90`): `None` where they
    /// differ or the driver does not say.
    ///
    /// # Errors
    /// [`Error::Failure`] naming the device, the driver's error and what to do.
    pub fn check(specs: &[DeviceSpec]) -> Result<Option<String>> {
        let fail = |why: String| Error::Failure(format!("device {}: {why}", specs[0]));
        // SAFETY: loading the driver runs its initialisers, as Burn would.
        let lib = unsafe { libloading::Library::new(LIBRARY) }.map_err(|e| {
            fail(format!("the NVIDIA driver ({LIBRARY}) does not load ({e}): install the driver, or add its directory (with libcuda.so.1, not the toolkit's stubs or compat copies) to LD_LIBRARY_PATH"))
        })?;
        let symbol = |name: &[u8]| fail(format!("{LIBRARY} lacks {}: the driver is too old", String::from_utf8_lossy(&name[..name.len() - 1])));
        // SAFETY: the two functions have the driver API's C signatures (cuda.h).
        let count = unsafe {
            let init: libloading::Symbol<unsafe extern "C" fn(u32) -> i32> = lib.get(b"cuInit\0").map_err(|_| symbol(b"cuInit\0"))?;
            let get_count: libloading::Symbol<unsafe extern "C" fn(*mut i32) -> i32> =
                lib.get(b"cuDeviceGetCount\0").map_err(|_| symbol(b"cuDeviceGetCount\0"))?;
            match init(0) {
                0 => {}
                code if MISMATCH.contains(&code) => return Err(fail(format!("the CUDA driver does not match the kernel module (error {code}): {COMPAT}"))),
                code => return Err(fail(format!("the CUDA driver does not start (cuInit error {code}): check nvidia-smi"))),
            }
            let mut count = 0;
            match get_count(&mut count) {
                0 => count.max(0) as usize,
                code => return Err(fail(format!("the CUDA driver cannot count its devices (error {code})"))),
            }
        };
        for spec in specs {
            match *spec {
                DeviceSpec::Cuda(_) if count == 0 => return Err(Error::Failure(format!("device {spec}: the CUDA driver sees no device"))),
                DeviceSpec::Cuda(i) if i >= count => {
                    return Err(Error::Failure(format!("device {spec}: this machine has {count} CUDA device(s), cuda:0 to cuda:{}", count - 1)))
                }
                _ => {}
            }
        }
        Ok(architecture(&lib, specs))
    }

    /// The compute capability the devices of `specs` share, as `sm_XY`, from
    /// the started driver `lib`; `None` where they differ or it does not say.
    fn architecture(lib: &libloading::Library, specs: &[DeviceSpec]) -> Option<String> {
        /// CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR and _MINOR (cuda.h).
        const CAPABILITY: [i32; 2] = [75, 76];
        // SAFETY: the two functions have the driver API's C signatures
        // (cuda.h); they write only through the pointers given, and return
        // an error code rather than fail on a bad ordinal.
        unsafe {
            let get: libloading::Symbol<unsafe extern "C" fn(*mut i32, i32) -> i32> = lib.get(b"cuDeviceGet\0").ok()?;
            let attribute: libloading::Symbol<unsafe extern "C" fn(*mut i32, i32, i32) -> i32> = lib.get(b"cuDeviceGetAttribute\0").ok()?;
            let mut names = specs.iter().map(|spec| {
                let DeviceSpec::Cuda(ordinal) = *spec else { return None };
                let (mut device, mut major, mut minor) = (0, 0, 0);
                let found = get(&mut device, i32::try_from(ordinal).ok()?) == 0
                    && attribute(&mut major, CAPABILITY[0], device) == 0
                    && attribute(&mut minor, CAPABILITY[1], device) == 0;
                found.then(|| format!("sm_{major}{minor}"))
            });
            let first = names.next()??;
            names.all(|name| name.as_deref() == Some(first.as_str())).then_some(first)
        }
    }
}
