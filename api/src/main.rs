//! The `lup` binary: everything is in the library ([`lup_api::command`]).
use std::process::ExitCode;

// The GraphQL executor allocates many small objects per field; mimalloc handles that load
// with markedly less CPU than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    lup_api::command::main()
}
