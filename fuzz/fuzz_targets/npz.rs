//! Any bytes given to the npz reader give datasets and references or errors,
//! never a panic; the rules evaluate a solution on every instance read.
//!
//! The bytes are tried as an `.npz` file, and as records `[name length: u8]
//! [name][array length: u32 LE][.npy bytes]` zipped here with valid
//! checksums, so that mutations reach the array and dataset logic behind the
//! zip layer (`fuzz/seeds/npz/*.rec` are datasets in that form).
#![no_main]

use std::io::Write;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lrm::problem::io::npz;
use lrm::problem::{evaluate, Solution};

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(zipped) = zip_records(data) {
        check(&zipped);
    }
});

fn check(bytes: &[u8]) {
    let path = Path::new("fuzz.npz");
    let Ok(arrays) = npz::parse_arrays(path, bytes) else { return };
    if let Ok(instances) = npz::dataset_from_arrays(path, arrays.clone()) {
        for inst in instances.iter().filter(|i| i.num_customers() <= 2_000) {
            let _ = evaluate(inst, &Solution::new((1..=inst.num_customers()).map(|c| vec![c]).collect()));
        }
    }
    let _ = npz::reference_from_arrays(path, arrays);
}

fn zip_records(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    while let Some((&len, rest)) = data.split_first() {
        let name = std::str::from_utf8(rest.get(..len as usize)?).ok()?;
        let rest = &rest[len as usize..];
        let size = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let array = rest.get(4..4 + size)?;
        out.start_file(format!("{name}.npy"), options).ok()?;
        out.write_all(array).ok()?;
        data = &rest[4 + size..];
    }
    Some(out.finish().ok()?.into_inner())
}
