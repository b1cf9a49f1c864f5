//! Process setup for CPU training: thread pools and the memory allocator.
//!
//! **Allocator.** A training step allocates and frees every activation and gradient buffer
//! (megabytes each). glibc's `malloc` hands many of them back to the kernel on `free` and gets
//! them again, page by page and zeroed, on the next step. On this project's 2-core machine
//! (2026-11-29, `examples/step_profile.rs cnn48 20`, medians of 20 steps, 3 runs each) a
//! small-CNN step (48 px, batch 64) took 43–48 ms with glibc's defaults, 31–32 ms with glibc told
//! to keep its memory (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`) and 30–32 ms with
//! mimalloc. Binaries that train should
//! therefore set a caching global allocator, as `xbn-train` and the benchmarks do:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
//! ```

/// Lets candle run its element-wise ops on the calling thread unless the user chose otherwise.
///
/// candle 0.11 runs large element-wise ops (for example the gradient additions of backward) on
/// its own pool of spin-waiting workers, next to rayon's pool, which runs xbn's kernels and the
/// matrix products. With both pools sized to the machine, a worker of one pool keeps spinning on
/// a core the other needs; on this project's 2-core machine, while another process kept one
/// core busy, a small-CNN training step took 42–49 ms with `CANDLE_NUM_THREADS=1` against
/// 73–75 ms without (`examples/step_profile.rs`, medians of 15 steps, alternating runs). If `CANDLE_NUM_THREADS` is unset this sets it to 1;
/// rayon's pool (`RAYON_NUM_THREADS`) is untouched.
///
/// # Safety
/// Modifies the process environment: call it at the start of `main`, before any other thread
/// exists (the same contract as [`std::env::set_var`]).
pub unsafe fn prefer_rayon_for_cpu_work() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: the caller guarantees no other thread reads or writes the environment now.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", "1") };
    }
}
