//! Stripes: the region's positions cut in runs of about equal length, one per worker of the
//! parallel `subtract_refs`'s step 2, which applies the edges into its stripe alone.

/// The region's positions split in `count` runs of about equal length, in order.
pub(crate) struct Stripes {
    pub(crate) count: usize,
    /// `count * 2^32 / len`: the stripe of `q` is `q * scale / 2^32`, a multiplication where
    /// `q * count / len` would cost a division per edge.
    scale: u64,
}

impl Stripes {
    /// `len` positions in `count` stripes.
    pub(crate) fn new(count: usize, len: usize) -> Stripes {
        Stripes {
            count,
            scale: ((count as u64) << 32) / len.max(1) as u64,
        }
    }

    /// The stripe of position `q` (below `count`, as `q` is below `len < 2^32`).
    #[inline]
    pub(crate) fn of(&self, q: usize) -> usize {
        ((q as u64 * self.scale) >> 32) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::Stripes;

    #[test]
    fn stripes_cut_the_positions_in_equal_runs_in_order() {
        let small = [(1, 1), (2, 7), (3, 10), (4, 3), (5, 4097)];
        let large = [(2, 1 << 20), (7, 1_000_003)];
        // Under Miri the small cases only: the large ones would take minutes.
        let large = if cfg!(miri) { &large[..0] } else { &large[..] };
        for &(count, len) in small.iter().chain(large) {
            let stripes = Stripes::new(count, len);
            let mut sizes = vec![0usize; count];
            let mut last = 0;
            for q in 0..len {
                let s = stripes.of(q);
                assert!(
                    s < count,
                    "{count} stripes of {len}: position {q} in stripe {s}"
                );
                assert!(s >= last, "stripes in position order");
                last = s;
                sizes[s] += 1;
            }
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            // Equal to within one position and the rounding of the scale (0.01 %).
            assert!(
                max - min <= 1 + len / 10_000,
                "{count} stripes of {len}: {sizes:?}"
            );
        }
    }
}
