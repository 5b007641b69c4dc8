//! The `bcfmon` binary: all work is in the library.

/// mimalloc, not the system allocator: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    bcfmon::cli::run()
}
