//! The `bcfmon` binary: all work is in the library.

fn main() -> std::process::ExitCode {
    bcfmon::cli::run()
}
