//! Finding the first byte in (or not in) a small set, 16 bytes at a time: the one scan behind
//! YAML keys and line ends and JSON whitespace, where the runs are short enough that
//! `memchr`'s call and dispatch cost more than they save.

/// The index of the first byte of `b[i..end]` that is (`is` true) or is not (`is` false) one of
/// `set`; `None` when there is none. `end` may be past `b.len()` (then `b.len()` counts).
#[inline(always)]
pub(crate) fn first<const N: usize>(
    b: &[u8],
    mut i: usize,
    end: usize,
    set: [u8; N],
    is: bool,
) -> Option<usize> {
    let end = end.min(b.len());
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8, _mm_setzero_si128,
        };
        // SAFETY: SSE2 is part of x86_64; each load reads 16 bytes inside `b` (unaligned).
        unsafe {
            let needles = set.map(|c| _mm_set1_epi8(c as i8));
            while i < end && i + 16 <= b.len() {
                let v = _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
                let hits = needles.iter().fold(_mm_setzero_si128(), |acc, n| {
                    _mm_or_si128(acc, _mm_cmpeq_epi8(v, *n))
                });
                let mut mask = _mm_movemask_epi8(hits) as u32;
                if !is {
                    mask = !mask & 0xffff;
                }
                if mask != 0 {
                    let at = i + mask.trailing_zeros() as usize;
                    return (at < end).then_some(at);
                }
                i += 16;
            }
        }
    }
    b.get(i..end)?
        .iter()
        .position(|c| set.contains(c) == is)
        .map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length, place of the byte looked for and start, around the 16-byte steps, as a
    /// byte-by-byte search finds it.
    #[test]
    fn finds_as_byte_by_byte() {
        let naive = |b: &[u8], i: usize, end: usize, set: &[u8], is: bool| {
            let end = end.min(b.len());
            b.get(i..end)?
                .iter()
                .position(|c| set.contains(c) == is)
                .map(|p| i + p)
        };
        for len in 0..50 {
            for at in 0..=len {
                let mut b = vec![b'a'; len];
                let mut ws = vec![b' '; len];
                if at < len {
                    b[at] = b':';
                    ws[at] = b'x';
                    if at + 3 < len {
                        b[len - 1] = b'#';
                        ws[len - 2] = b'\n';
                    }
                }
                for from in 0..=len {
                    for end in [len, len.saturating_sub(3), len + 5] {
                        let set = [b':', b'#', b'\t'];
                        assert_eq!(
                            first(&b, from, end, set, true),
                            naive(&b, from, end, &set, true),
                            "{len} {at} {from} {end}"
                        );
                        let set = [b' ', b'\n', b'\r', b'\t'];
                        assert_eq!(
                            first(&ws, from, end, set, false),
                            naive(&ws, from, end, &set, false),
                            "{len} {at} {from} {end}"
                        );
                    }
                }
            }
        }
        // Bytes that differ from those looked for only in their high bit are not hits.
        assert_eq!(first(&[0xBA; 40], 0, 40, [b':'], true), None);
        assert_eq!(first(b"abc", 7, 9, [b'a'], true), None);
    }
}
