//! The global allocator: mimalloc, with eager arena commits turned off.
//!
//! By default mimalloc commits its first arena chunk eagerly; with the
//! kernel's transparent huge pages that shows up as about 8 MiB of resident
//! memory per process before a single key is stored, which is 8 bytes per
//! key at one million keys. The option must be set before the first Rust
//! allocation, which happens before `main`, so it is set from an ELF
//! constructor that the loader runs before the Rust runtime starts.

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL_ALLOCATOR: MiMalloc = MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc v2's `mi_option_e`.
#[cfg(target_os = "linux")]
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static CONFIGURE_ALLOCATOR: extern "C" fn() = configure_allocator;

#[cfg(target_os = "linux")]
extern "C" fn configure_allocator() {
    // SAFETY: setting an option is a plain store in mimalloc's option table;
    // it runs once, single-threaded, before any allocation of ours.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) }
}
