//! Test helper: creates reports in a store until it is killed, printing each
//! report's id once `create_report` has returned (that is, once the store
//! has acknowledged it). The crash test kills it with SIGKILL at random.
//!
//! Usage: report-writer DATA_DIR SEED

use std::io::Write;

use suishoupai_core::{PhotoSource, ReportDraft, Reporter, Store};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("DATA_DIR");
    let seed: u64 = args.next().expect("SEED").parse().expect("numeric SEED");
    let store = Store::open(&dir).expect("open store");
    let mut stdout = std::io::stdout().lock();
    for n in 0.. {
        // Fresh pixels every time, so that every report writes new files
        // and the kill can land in the middle of one.
        let photos: Vec<_> = (0..2).map(|i| PhotoSource::Bytes(noise_jpeg(seed, n, i))).collect();
        let draft = ReportDraft {
            category: "garbage".into(),
            note: format!("writer {seed} report {n}"),
            location: None,
            reporter: Reporter::default(),
        };
        let report = store.create_report(&draft, &photos).expect("create report");
        writeln!(stdout, "{}", report.id).unwrap();
        stdout.flush().unwrap();
    }
}

fn noise_jpeg(seed: u64, n: u64, i: u64) -> Vec<u8> {
    let mut state = seed ^ (n << 20) ^ (i << 40) ^ 0x9E37_79B9_7F4A_7C15;
    let image = image::RgbImage::from_fn(640, 480, |_, _| {
        // xorshift: cheap, and different for every photo.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&image).unwrap();
    out
}
