//! The fence's safe interfaces: contents, alignment, and that the kernel really backs an
//! advised slice with huge pages when THP is enabled.

use rvs_hint::{prefetch, prefetch_at, Backing, HugeSlice, HUGE_PAGE};

#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
struct Line([u64; 8]);

#[test]
fn filled_aligned_and_writable() {
    let mut s = HugeSlice::from_fn(100_000, |i| Line([i as u64; 8]));
    assert_eq!(s.len(), 100_000);
    assert_eq!(s.as_ptr() as usize % HUGE_PAGE, 0, "huge-page aligned");
    assert!(s.iter().enumerate().all(|(i, l)| l.0 == [i as u64; 8]));
    s[99_999].0[7] = 7;
    assert_eq!(s[99_999].0[7], 7);
    assert_eq!(s.bytes() % HUGE_PAGE, 0);
    assert!(s.bytes() >= 100_000 * 64);
    // Hints never change anything, in bounds or not (the no-op path included).
    prefetch(&s[5]);
    prefetch_at(&s, 7);
    prefetch_at(&s, 10_000_000);
    assert_eq!(s[5], Line([5; 8]));
    let empty: HugeSlice<u32> = HugeSlice::new(0, 0);
    assert!(empty.is_empty());
    // A small slice is not worth a huge page: 4 KiB pages, rounded to them.
    let small = HugeSlice::new(1000, 3u32);
    assert_eq!((small.backing(), small.bytes()), (Backing::Pages, 4096));
    assert!(small.iter().all(|&v| v == 3));
}

fn thp_enabled() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").is_ok_and(|s| !s.contains("[never]"))
}

/// AnonHugePages (kB) of the mapping that starts at `addr`, from /proc/self/smaps.
fn anon_huge_kb(addr: usize) -> Option<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let mut inside = false;
    for line in smaps.lines() {
        if let Some((range, _)) = line.split_once(' ') {
            if let Some((lo, hi)) = range.split_once('-') {
                if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16)) {
                    inside = lo <= addr && addr < hi;
                    continue;
                }
            }
        }
        if inside {
            if let Some(v) = line.strip_prefix("AnonHugePages:") {
                return v.trim().trim_end_matches("kB").trim().parse().ok();
            }
        }
    }
    None
}

#[test]
fn advised_memory_is_backed_by_huge_pages() {
    // No allocator registered in this process: the anonymous path.
    let s = HugeSlice::new(8 * HUGE_PAGE / 4, 1u32);
    assert_ne!(s.backing(), Backing::Hugetlb);
    if !thp_enabled() {
        assert_eq!(s.backing(), Backing::Pages);
        eprintln!("THP disabled here: ordinary pages, as reported");
        return;
    }
    assert_eq!(s.backing(), Backing::Thp);
    let kb = anon_huge_kb(s.as_ptr() as usize).expect("mapping in smaps");
    assert!(kb >= 2048, "an advised, touched 16 MiB slice should hold huge pages; AnonHugePages {kb} kB");
}
