//! `lup_lower(text)`, the lowercasing that text filters match by, on SQLite: registered on each
//! connection the pool opens (PostgreSQL's comes from a migration). SQLite's own `lower()`
//! lowers ASCII only, so "Čapek" or "Ábe" typed exactly was not found by a filter that lowers
//! both sides; this one lowers every letter, as Rust's `to_lowercase` does.
//!
//! The only `unsafe` in the crate: SQLite's C interface, as sqlx registers its own functions.
use std::ffi::c_int;

use libsqlite3_sys as ffi;

/// The function's name in SQL.
pub const NAME: &str = "lup_lower";

/// Registers `lup_lower` on the connection `db`; SQLite's result code when it could not.
///
/// # Safety
/// `db` must be an open connection, used by no other thread during the call.
pub unsafe fn register(db: *mut ffi::sqlite3) -> Result<(), c_int> {
    // SAFETY: `db` is open (the caller's word); the name is NUL-terminated and static; a
    // scalar function has no step or final callbacks and no user data to destroy.
    let code = unsafe {
        ffi::sqlite3_create_function_v2(
            db,
            c"lup_lower".as_ptr(),
            1,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC | ffi::SQLITE_INNOCUOUS,
            std::ptr::null_mut(),
            Some(lower),
            None,
            None,
            None,
        )
    };
    if code == ffi::SQLITE_OK { Ok(()) } else { Err(code) }
}

/// `lup_lower(value)`: NULL for NULL, the text lowered for anything else (numbers as text).
unsafe extern "C" fn lower(ctx: *mut ffi::sqlite3_context, n: c_int, args: *mut *mut ffi::sqlite3_value) {
    // SAFETY: SQLite calls this with `n` (registered as 1) valid values in `args`, and a
    // context valid for the call; the text it hands out lives until the value changes, and
    // `sqlite3_result_text` with SQLITE_TRANSIENT copies ours before it returns.
    unsafe {
        if n != 1 || args.is_null() {
            ffi::sqlite3_result_null(ctx);
            return;
        }
        let value = *args;
        if ffi::sqlite3_value_type(value) == ffi::SQLITE_NULL {
            ffi::sqlite3_result_null(ctx);
            return;
        }
        let text = ffi::sqlite3_value_text(value);
        let length = ffi::sqlite3_value_bytes(value);
        if text.is_null() {
            ffi::sqlite3_result_error_nomem(ctx);
            return;
        }
        let bytes = std::slice::from_raw_parts(text, usize::try_from(length).unwrap_or(0));
        let lowered = match std::str::from_utf8(bytes) {
            Ok(text) if text.is_ascii() => text.to_ascii_lowercase(),
            Ok(text) => text.to_lowercase(),
            Err(_) => String::from_utf8_lossy(bytes).to_lowercase(),
        };
        match c_int::try_from(lowered.len()) {
            Ok(length) => {
                ffi::sqlite3_result_text(ctx, lowered.as_ptr().cast(), length, ffi::SQLITE_TRANSIENT())
            }
            Err(_) => ffi::sqlite3_result_error_toobig(ctx),
        }
    }
}
