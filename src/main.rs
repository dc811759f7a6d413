//! The `edgefed` binary: everything is in the library.

fn main() -> std::process::ExitCode {
    edgefed::app::run(std::env::args_os())
}
