//! The `edgefed` binary: everything is in the library.

fn main() -> std::process::ExitCode {
    edgefed::commands::run(std::env::args_os())
}
