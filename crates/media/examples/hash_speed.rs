//! Hashing throughput on one core: decode + orientation + pHash + dHash (+ mirrors).
//!
//! `cargo run --release -p spirit-media --example hash_speed -- FILE...`

use std::time::Instant;

use spirit_media::picture::{Limits, hash_file};

fn main() {
    let files: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    let limits = Limits::default();
    let (mut n, mut pixels) = (0usize, 0f64);
    for f in &files {
        match image::ImageReader::open(f).and_then(|r| r.with_guessed_format()) {
            Ok(r) => {
                if let Ok((w, h)) = r.into_dimensions() {
                    pixels += f64::from(w) * f64::from(h);
                }
            }
            Err(e) => eprintln!("{}: {e}", f.display()),
        }
    }
    let start = Instant::now();
    for f in &files {
        match hash_file(f, &limits) {
            Ok(_) => n += 1,
            Err(e) => eprintln!("skipped: {e}"),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} images, {:.1} megapixels: {secs:.2} s on one core = {:.1} images/s, {:.1} megapixels/s",
        pixels / 1e6,
        n as f64 / secs,
        pixels / 1e6 / secs
    );
}
