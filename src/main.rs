//! The `groupme-uploader` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    groupme_uploader::cli::main()
}
