//! Writes what the app uploads for a file with "Remove location and other metadata" on: the file
//! with its metadata removed, or the file as it is when there was none to remove.
//! `tests/gui/xvfb_smoke.sh` compares the real window's stored originals with it.
//!
//! Usage: `cargo run --example strip_metadata -- IN OUT`

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: strip_metadata IN OUT");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stripped = match groupme_uploader::metadata::strip(&bytes) {
        Ok(stripped) => stripped.unwrap_or(bytes),
        Err(e) => {
            eprintln!("error: {input}: cannot remove its metadata: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(output, stripped) {
        eprintln!("error: {output}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
