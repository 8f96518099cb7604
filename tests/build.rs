//! PostgreSQL tests run when `TEST_DATABASE_URL` is set at build time, the tests of budgets
//! shared through Redis when `TEST_REDIS_URL` is; otherwise they are compiled as ignored, so
//! `cargo test` lists them as skipped instead of passing silently.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rustc-check-cfg=cfg(redis_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=TEST_REDIS_URL");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
    if std::env::var("TEST_REDIS_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=redis_tests");
    }
}
