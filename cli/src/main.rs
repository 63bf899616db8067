//! The `foodctl` binary: everything lives in the library so it can be tested.

use std::process::ExitCode;

fn main() -> ExitCode {
    match foodctl::run() {
        Ok(code) => code,
        Err(err) => foodctl::report(&err),
    }
}
