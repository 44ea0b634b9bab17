//! Limits on what one render may produce, and checks on YAML text before it is parsed, so
//! hostile input fails with a clear error (exit 2) instead of exhausting memory or time.
//!
//! The YAML parser's own limits (nesting depth, nodes after alias expansion) live in
//! [`crate::yaml::Limits`]; template fuel and recursion in [`crate::template::TemplateOptions`].

use crate::yaml::YamlError;

/// Limits on rendered output. Defaults sit far above real pipelines (a session renders a few
/// dozen documents of a few KiB; the API server refuses objects over ~1.5 MiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimits {
    /// Most bytes one rendered document may hold (`--max-doc-bytes`).
    pub max_doc_bytes: usize,
    /// Most documents one session may render (`--max-docs`).
    pub max_docs: usize,
    /// Most bytes one template may render for one session (`--max-output-bytes`).
    pub max_output_bytes: usize,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            max_doc_bytes: 16 << 20,
            max_docs: 100_000,
            max_output_bytes: 64 << 20,
        }
    }
}

/// A limit broken at a 1-based line of the checked text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    pub line: usize,
    pub message: String,
}

/// True for a line that starts a YAML document (`---` alone or followed by a blank).
fn is_doc_start(line: &[u8]) -> bool {
    line.starts_with(b"---") && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

/// Checks one rendered YAML stream before it is parsed: no document larger than
/// `max_doc_bytes`, and no more than `max_docs` documents counting the `seen` ones of earlier
/// templates of the same session. Returns how many documents the stream may hold (an upper
/// bound: `---` lines, plus the first document).
pub fn check_stream(text: &str, seen: usize, limits: &OutputLimits) -> Result<usize, LimitError> {
    let bytes = text.as_bytes();
    let mut docs = 0usize;
    let mut doc_start = 0usize;
    let mut doc_line = 1usize;
    let too_big = |start: usize, end: usize, line: usize| -> Result<(), LimitError> {
        if end - start > limits.max_doc_bytes {
            return Err(LimitError {
                line,
                message: format!(
                    "document is {} bytes, more than {} (raise with --max-doc-bytes)",
                    end - start,
                    limits.max_doc_bytes
                ),
            });
        }
        Ok(())
    };
    // Only lines starting with `---` can start a document: jump from one to the next, counting
    // the lines in between.
    let mut line_no = 1usize;
    let mut counted = 0usize;
    let first = bytes.starts_with(b"---").then_some(0);
    let rest = memchr::memmem::find_iter(bytes, b"\n---").map(|i| i + 1);
    for pos in first.into_iter().chain(rest) {
        let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1);
        if !is_doc_start(&bytes[pos..end]) {
            continue;
        }
        line_no += memchr::memchr_iter(b'\n', &bytes[counted..pos]).count();
        counted = pos;
        too_big(doc_start, pos, doc_line)?;
        if pos > 0 {
            docs += 1;
        }
        doc_start = pos;
        doc_line = line_no;
        if seen + docs + 1 > limits.max_docs {
            return Err(LimitError {
                line: line_no,
                message: format!(
                    "more than {} documents in one session (raise with --max-docs)",
                    limits.max_docs
                ),
            });
        }
    }
    too_big(doc_start, bytes.len(), doc_line)?;
    Ok(docs + 1)
}

/// go-yaml (and so kubectl, kapp and ytt) refuses control characters anywhere in a stream; so
/// does kpipe, naming the line, rather than passing a NUL byte on. Tab, LF, CR and NEL are allowed.
pub fn control_character(text: &str) -> Option<YamlError> {
    let bad = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
            || c == '\u{7f}'
            || (('\u{80}'..='\u{9f}').contains(&c) && c != '\u{85}')
    };
    // Fast path: most text has no byte below 0x20 but \t \n \r, and no DEL or C1 (0xC2 0x80-0x9F).
    // Chunks folded without an early exit: that form vectorises.
    let suspicious = text.as_bytes().chunks(4096).any(|chunk| {
        chunk.iter().fold(false, |acc, &b| {
            acc | ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r'))
                | (b == 0x7f)
                | (b == 0xc2)
        })
    });
    if !suspicious {
        return None;
    }
    let (i, c) = text.char_indices().find(|&(_, c)| bad(c))?;
    let before = &text[..i];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some(YamlError {
        line,
        col,
        message: format!(
            "control character U+{:04X} is not allowed in YAML (kubectl refuses it too; write it as an escape in a double-quoted string)",
            c as u32
        ),
    })
}

/// A leading byte-order mark is not content (YAML 1.2, 5.2); without this it would become part
/// of the first key.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A byte buffer that refuses to grow past `cap`: template output goes here, so a runaway
/// template stops at the limit instead of filling memory.
#[derive(Debug)]
pub struct CappedBuf {
    pub buf: Vec<u8>,
    cap: usize,
    pub exceeded: bool,
}

impl CappedBuf {
    pub fn new(cap: usize) -> CappedBuf {
        CappedBuf {
            buf: Vec::new(),
            cap,
            exceeded: false,
        }
    }
}

impl std::io::Write for CappedBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.cap {
            self.exceeded = true;
            return Err(std::io::Error::other("output limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Default of `--max-memory`: far above a real render (1,000 sessions of the example peak at
/// ~20 MiB), low enough that a template doubling a string in a loop stops with a message.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;

/// Stack of the thread that runs a command (`main`), and of every thread started after it
/// (`RUST_MIN_STACK`): nesting up to `--max-yaml-depth`'s ceiling must fit. Only touched pages
/// are committed, but the reservations count against `RLIMIT_DATA`, so the memory limit adds them.
pub const MAIN_STACK: usize = 256 << 20;
pub const THREAD_STACK: usize = 32 << 20;

/// Lets the main thread's stack grow to `bytes` by raising the soft `RLIMIT_STACK` (Linux grows
/// the main stack on demand up to the limit in force at the time). False when the hard limit
/// does not allow it, or off Linux.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn grow_main_stack(bytes: usize) -> bool {
    #[cfg(target_os = "linux")]
    {
        let want = bytes as libc::rlim_t;
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut lim) } != 0 {
            return false;
        }
        if lim.rlim_cur == libc::RLIM_INFINITY || lim.rlim_cur >= want {
            return true;
        }
        if lim.rlim_max != libc::RLIM_INFINITY && lim.rlim_max < want {
            return false;
        }
        let original = lim.rlim_cur;
        lim.rlim_cur = want;
        // SAFETY: as above.
        let raised = unsafe { libc::setrlimit(libc::RLIMIT_STACK, &lim) == 0 };
        if raised {
            ORIGINAL_STACK.store(original as u64, std::sync::atomic::Ordering::Relaxed);
        }
        raised
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = bytes;
        false
    }
}

/// The soft stack limit kpipe was started with, when [`grow_main_stack`] raised it (else 0).
static ORIGINAL_STACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Gives a program kpipe starts (kubectl, kapp) the stack limit kpipe itself was started with,
/// not the one it raised for its own main thread.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn child_stack_limit(cmd: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let original = ORIGINAL_STACK.load(std::sync::atomic::Ordering::Relaxed);
        if original == 0 {
            return;
        }
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut lim) } != 0 {
            return;
        }
        lim.rlim_cur = original as libc::rlim_t;
        // SAFETY: setrlimit is async-signal-safe and reads only `lim`, copied into the closure;
        // nothing else runs between fork and exec. A failure leaves the raised limit (harmless).
        unsafe {
            cmd.pre_exec(move || {
                libc::setrlimit(libc::RLIMIT_STACK, &lim);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// CPUs this process may run on (its affinity mask): unlike
/// `std::thread::available_parallelism` it reads no cgroup files, so start-up stays cheap.
pub fn cpus() -> usize {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity writes at most its size.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) }
            == 0
        {
            // SAFETY: `set` was filled in by the kernel.
            return (unsafe { libc::CPU_COUNT(&set) } as usize).max(1);
        }
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

static MEMORY_LIMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Caps the data segment (heap) of this process at `bytes` (`RLIMIT_DATA`, never above the hard
/// limit). An allocation beyond it fails, and [`OomExit`] turns that into exit 2 with a message
/// instead of the system's out-of-memory killer or an abort. Programs kpipe starts (kubectl,
/// kapp) inherit the cap.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn set_memory_limit(bytes: u64) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_DATA, &mut lim) } != 0 {
            return Ok(());
        }
        // Thread stacks are reserved in the data segment too: the main one and one per core.
        let cores = cpus();
        let stacks = (MAIN_STACK + (cores + 2) * THREAD_STACK) as u64;
        let want = bytes.saturating_add(stacks) as libc::rlim_t;
        lim.rlim_cur = if lim.rlim_max == libc::RLIM_INFINITY {
            want
        } else {
            want.min(lim.rlim_max)
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_DATA, &lim) } != 0 {
            anyhow::bail!(
                "--max-memory {bytes}: cannot set the limit: {}",
                std::io::Error::last_os_error()
            );
        }
        MEMORY_LIMIT.store(bytes, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(())
}

/// The process allocator (glibc malloc or mimalloc, see [`ALLOCATOR`]), except that a failed
/// allocation ends the process with exit 2 and a one-line `error:` naming `--max-memory`
/// (without allocating) instead of aborting.
pub struct OomExit;

fn out_of_memory() -> ! {
    let limit = MEMORY_LIMIT.load(std::sync::atomic::Ordering::Relaxed);
    let mut digits = [0u8; 20];
    let mut n = limit;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let parts: [&[u8]; 3] = [
        b"error: out of memory: more than ",
        &digits[i..],
        b" bytes in use (a template building a huge value?); raise with --max-memory\n",
    ];
    #[cfg(unix)]
    for p in parts {
        // SAFETY: writing a valid buffer to fd 2; _exit ends the process without unwinding or
        // running destructors (nothing may allocate now).
        unsafe {
            libc::write(2, p.as_ptr().cast(), p.len());
        }
    }
    #[cfg(unix)]
    // SAFETY: see above.
    unsafe {
        libc::_exit(2)
    }
    #[cfg(not(unix))]
    std::process::exit(2)
}

/// Which allocator serves this process: chosen once, before the first allocation, by
/// [`choose_allocator`] (run from the binary's `.init_array`, so before `main`).
///
/// - mimalloc for `diff` and `deploy`: they build and drop millions of small YAML nodes on
///   several threads, and mimalloc's thread-local free lists do that with fewer instructions and
///   no lock traffic (10,000-resource diff about 20% faster).
/// - mimalloc for `render` and `lint` of a `--sessions` file, for the same reason (1,000
///   sessions about 15% faster).
/// - the system allocator (glibc malloc) for everything else: a render of one session touches
///   far fewer fresh pages with it (mimalloc sets up bitmaps and one page per size class), and
///   on this kind of machine each first touch of a page costs about 3 µs.
///
/// `KPIPE_ALLOCATOR=system|mimalloc` overrides the choice (for measuring).
static ALLOCATOR: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(UNDECIDED);
const UNDECIDED: u8 = 0;
const SYSTEM: u8 = 1;
const MIMALLOC: u8 = 2;

static MI: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Whether a command line gets mimalloc (see [`ALLOCATOR`]). Runs before anything is
/// allocated, so it must not allocate either.
pub fn allocator_for<'a>(args: impl Iterator<Item = &'a [u8]> + Clone, env: Option<&[u8]>) -> bool {
    match env {
        Some(b"mimalloc") => return true,
        Some(b"system") => return false,
        _ => {}
    }
    let command = command_of(args.clone());
    let many_sessions = || {
        args.clone()
            .any(|a| a == b"--sessions" || a.starts_with(b"--sessions="))
    };
    match command {
        Some(b"diff" | b"deploy") => true,
        Some(b"render" | b"lint") => many_sessions(),
        _ => false,
    }
}

/// The subcommand: the first argument that is not an option.
fn command_of<'a>(args: impl Iterator<Item = &'a [u8]>) -> Option<&'a [u8]> {
    args.skip(1).find(|a| !a.starts_with(b"-"))
}

/// Whether mimalloc gives pages it no longer uses back to the OS 10 ms after they empty,
/// instead of 1 s (its default, longer than a whole diff): `diff` and `deploy`. Memory one
/// step frees in one thread otherwise stays in the process while other threads take fresh
/// pages: a 10,000-resource diff peaks at about 63 MB instead of 85 MB, for about 5% more
/// time (pages given back are faulted in again when reused). Set before the first free: an
/// arena keeps the purge time its first freed page set.
pub fn purges_soon<'a>(args: impl Iterator<Item = &'a [u8]>) -> bool {
    matches!(command_of(args), Some(b"diff" | b"deploy"))
}

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e`.
const MI_OPTION_PURGE_DELAY: libc::c_int = 15;

extern "C" {
    // mimalloc's (v3) `mi_option_set`, compiled in by libmimalloc-sys (its Rust declaration
    // needs the `extended` feature and one more crate). It only stores the value.
    fn mi_option_set(option: libc::c_int, value: libc::c_long);
    // What mimalloc's constructor calls (init.c): process and main-thread set-up, then the
    // options read from the environment.
    fn _mi_auto_process_init();
    // mimalloc's plain entry points (libmimalloc-sys compiles them in; the `mimalloc` crate
    // calls only the aligned ones).
    fn mi_malloc(size: usize) -> *mut libc::c_void;
    fn mi_zalloc(size: usize) -> *mut libc::c_void;
    fn mi_realloc(p: *mut libc::c_void, size: usize) -> *mut libc::c_void;
}

/// mimalloc's `MI_MAX_ALIGN_SIZE` on the targets this builds for (`sizeof(max_align_t)`).
const MI_MAX_ALIGN: usize = 16;

/// Whether a plain `mi_malloc(size)` block already has the alignment: mimalloc's blocks are
/// aligned to their size class, and every class above one word is a multiple of
/// `MI_MAX_ALIGN` (the rule the `mimalloc` crate itself used before it called only
/// `mi_malloc_aligned`, whose checks cost about 40 instructions an allocation: 4% of a
/// 10,000-resource diff).
#[inline]
fn naturally_aligned(align: usize, size: usize) -> bool {
    align <= MI_MAX_ALIGN && align <= size
}

/// Picks the allocator from the raw command line and environment (C strings, as the loader
/// passes them to `.init_array` functions). Has no effect once anything was allocated: memory
/// must be returned to the allocator that gave it.
///
/// # Safety
/// `argv` holds `argc` valid C strings; `envp` is a null-terminated array of valid C strings
/// (or null).
pub unsafe fn choose_allocator(
    argc: libc::c_int,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
) {
    let mut env = None;
    // mimalloc reads its own variable; a purge delay given there wins.
    let mut purge_given = false;
    if !envp.is_null() {
        let mut p = envp;
        // SAFETY: the caller passes a null-terminated array of C strings.
        while let Some(e) = unsafe { (*p).as_ref() } {
            let e = unsafe { std::ffi::CStr::from_ptr(e) }.to_bytes();
            if let Some(v) = e.strip_prefix(b"KPIPE_ALLOCATOR=") {
                env = Some(v);
            }
            purge_given |= e.starts_with(b"MIMALLOC_PURGE_DELAY=");
            p = unsafe { p.add(1) };
        }
    }
    let n = if argv.is_null() {
        0
    } else {
        argc.max(0) as usize
    };
    // SAFETY: `argc` valid C strings.
    let args = (0..n).map(|i| unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) }.to_bytes());
    let choice = if allocator_for(args.clone(), env) {
        MIMALLOC
    } else {
        SYSTEM
    };
    let chosen = ALLOCATOR.compare_exchange(
        UNDECIDED,
        choice,
        std::sync::atomic::Ordering::Relaxed,
        std::sync::atomic::Ordering::Relaxed,
    );
    if chosen.is_err() || choice != MIMALLOC {
        return;
    }
    // mimalloc is set up here, only when it is chosen: `.cargo/config.toml` builds it without
    // the constructor that would set it up in every process (MI_PRIM_HAS_PROCESS_ATTACH). That
    // set-up touched a dozen fresh pages and ran 90 k instructions a one-session render (glibc
    // malloc) never used: about 0.3 ms of its 2.4 ms. A build without that flag runs this a
    // second time, which mimalloc tolerates (its process init runs once).
    // SAFETY: runs before the first allocation, on the main thread, as the constructor did.
    unsafe { _mi_auto_process_init() }
    if !purge_given && purges_soon(args) {
        // SAFETY: stores one option value in mimalloc's static table; allocates nothing.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 10) }
    }
}

/// The allocator in use; the first call without a choice settles on the system one.
#[inline]
fn mimalloc_in_use() -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    match ALLOCATOR.load(Relaxed) {
        MIMALLOC => true,
        SYSTEM => false,
        _ => match ALLOCATOR.compare_exchange(UNDECIDED, SYSTEM, Relaxed, Relaxed) {
            Ok(_) => false,
            Err(now) => now == MIMALLOC,
        },
    }
}

// SAFETY: every call goes to one inner allocator, the same for the whole process (the choice
// is fixed before the first allocation); only a null result is intercepted, and that never
// returns.
unsafe impl std::alloc::GlobalAlloc for OomExit {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = if !mimalloc_in_use() {
            std::alloc::System.alloc(layout)
        } else if naturally_aligned(layout.align(), layout.size()) {
            mi_malloc(layout.size()).cast()
        } else {
            MI.alloc(layout)
        };
        if p.is_null() {
            out_of_memory()
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = if !mimalloc_in_use() {
            std::alloc::System.alloc_zeroed(layout)
        } else if naturally_aligned(layout.align(), layout.size()) {
            mi_zalloc(layout.size()).cast()
        } else {
            MI.alloc_zeroed(layout)
        };
        if p.is_null() {
            out_of_memory()
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if mimalloc_in_use() {
            MI.dealloc(ptr, layout)
        } else {
            std::alloc::System.dealloc(ptr, layout)
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        let p = if !mimalloc_in_use() {
            std::alloc::System.realloc(ptr, layout, new)
        } else if naturally_aligned(layout.align(), new) {
            mi_realloc(ptr.cast(), new).cast()
        } else {
            MI.realloc(ptr, layout, new)
        };
        if p.is_null() {
            out_of_memory()
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mimalloc_for_diff_deploy_and_many_sessions() {
        let pick = |line: &str, env: Option<&str>| {
            allocator_for(line.split(' ').map(str::as_bytes), env.map(str::as_bytes))
        };
        assert!(pick("kpipe diff --files x", None));
        assert!(pick("kpipe deploy fixtures/ml-pipeline", None));
        assert!(!pick("kpipe render fixtures/ml-pipeline", None));
        assert!(!pick(
            "kpipe render fixtures/ml-pipeline --session user1",
            None
        ));
        assert!(pick(
            "kpipe render fixtures/ml-pipeline --sessions s.yaml",
            None
        ));
        assert!(pick("kpipe lint --sessions=s.yaml", None));
        assert!(!pick("kpipe template -f x --sessions", None));
        assert!(!pick("kpipe --version", None));
        assert!(!pick("kpipe", None));
        // The command, not an argument that happens to be called diff.
        assert!(!pick("kpipe render diff", None));
        assert!(pick("kpipe render x", Some("mimalloc")));
        assert!(!pick("kpipe diff x", Some("system")));
        assert!(pick("kpipe diff x", Some("other")));
    }

    #[test]
    fn diff_and_deploy_give_memory_back_soon() {
        let soon = |line: &str| purges_soon(line.split(' ').map(str::as_bytes));
        assert!(soon("kpipe diff --files x"));
        assert!(soon("kpipe -q deploy x"));
        assert!(!soon("kpipe render x --sessions s.yaml"));
        assert!(!soon("kpipe render diff"));
        assert!(!soon("kpipe"));
    }

    #[test]
    fn plain_mimalloc_blocks_have_the_alignment_asked() {
        use std::alloc::GlobalAlloc;
        // The premise of `naturally_aligned`: every size a layout of alignment up to 16 can
        // have, in every size class up to mimalloc's large objects, through malloc and realloc.
        for align in [1usize, 2, 4, 8, 16] {
            for size in (align..70_000).step_by(align * 7) {
                if !naturally_aligned(align, size) {
                    continue;
                }
                // SAFETY: plain mimalloc calls; each block is freed once.
                unsafe {
                    let p = mi_malloc(size);
                    assert_eq!(p as usize % align, 0, "mi_malloc({size}) for align {align}");
                    let z = mi_zalloc(size);
                    assert_eq!(z as usize % align, 0, "mi_zalloc({size}) for align {align}");
                    let r = mi_realloc(p, size * 2 + align);
                    assert_eq!(r as usize % align, 0, "mi_realloc to {}", size * 2 + align);
                    MI.dealloc(
                        r.cast(),
                        std::alloc::Layout::from_size_align_unchecked(1, 1),
                    );
                    MI.dealloc(
                        z.cast(),
                        std::alloc::Layout::from_size_align_unchecked(1, 1),
                    );
                }
            }
        }
        assert!(!naturally_aligned(32, 64));
        assert!(!naturally_aligned(16, 8));
    }

    fn limits(doc: usize, docs: usize) -> OutputLimits {
        OutputLimits {
            max_doc_bytes: doc,
            max_docs: docs,
            max_output_bytes: 1 << 20,
        }
    }

    #[test]
    fn counts_documents() {
        let l = limits(1000, 10);
        assert_eq!(check_stream("a: 1\n", 0, &l), Ok(1));
        assert_eq!(check_stream("---\na: 1\n---\nb: 2\n", 0, &l), Ok(2));
        assert_eq!(check_stream("a: 1\n--- \nb: 2\n---x\n", 0, &l), Ok(2));
        let e = check_stream("---\na\n---\nb\n---\nc\n", 8, &l).unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.message.contains("more than 10 documents"), "{e:?}");
    }

    #[test]
    fn measures_documents() {
        let l = limits(10, 10);
        assert!(check_stream("a: 12345\n---\nb: 1\n", 0, &l).is_ok());
        let e = check_stream("a: 1\n---\nb: 1234567890\n", 0, &l).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("--max-doc-bytes"), "{e:?}");
        let e = check_stream("b: 1234567890\n---\n", 0, &l).unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn control_characters() {
        assert_eq!(control_character("a: b\tc\r\n\u{85}é\n"), None);
        let e = control_character("a: 1\nb: x\0y\n").unwrap();
        assert_eq!((e.line, e.col), (2, 5));
        assert!(e.message.contains("U+0000"), "{e:?}");
        assert_eq!(control_character("a: \u{9b}").unwrap().line, 1);
        assert_eq!(control_character("a: \u{7f}").unwrap().col, 4);
    }

    #[test]
    fn bom_and_cap() {
        use std::io::Write;
        assert_eq!(strip_bom("\u{feff}a: 1"), "a: 1");
        let mut b = CappedBuf::new(4);
        assert!(b.write_all(b"abc").is_ok());
        assert!(b.write_all(b"de").is_err());
        assert!(b.exceeded);
        assert_eq!(b.buf, b"abc");
    }
}
