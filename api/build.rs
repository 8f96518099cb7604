//! Link settings for the release binary alone (`lup`; tests and libraries are not touched).
//!
//! - `--icf=safe`: functions with identical code and no address taken are kept once (the
//!   async state machines' drop glue, mostly); about 1 MB.
//! - `-z pack-relative-relocs`: relative relocations of the position-independent binary
//!   packed as RELR, 2.3 MB of `.rela.dyn` down to 30 KB. The loader needs glibc 2.36 or
//!   later (Debian 12, the image's base); an older one refuses the binary at start.
//!
//! Only where the linker is known to take them: rustc's own `rust-lld`, the default for
//! x86_64 Linux.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let target = std::env::var("TARGET").unwrap_or_default();
    if release && target == "x86_64-unknown-linux-gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=safe");
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
