//! The order in which ninja 1.11 (built with GCC's libstdc++) iterates its path map, so
//! that "did you mean" picks the same node among equally close ones.
//!
//! Ninja keeps nodes in a `std::unordered_map<StringPiece, Node*>` hashed with its
//! MurmurHash2 (`hash_map.h`). libstdc++ keeps all elements in one singly linked list:
//! a new element goes to the front of its bucket's run, or to the front of the list when
//! its bucket is empty, and a rehash (prime bucket counts from its table, load factor 1)
//! relinks the list in a fixed way. We replay the insertions (in node creation order, as
//! ninja creates nodes) and read the list. Only the error path uses this.

/// libstdc++'s `__prime_list` (LP64) as shipped in `libstdc++.so.6.0.30`.
const PRIMES: [u64; 304] = [
    2,
    3,
    5,
    7,
    11,
    13,
    17,
    19,
    23,
    29,
    31,
    37,
    41,
    43,
    47,
    53,
    59,
    61,
    67,
    71,
    73,
    79,
    83,
    89,
    97,
    103,
    109,
    113,
    127,
    137,
    139,
    149,
    157,
    167,
    179,
    193,
    199,
    211,
    227,
    241,
    257,
    277,
    293,
    313,
    337,
    359,
    383,
    409,
    439,
    467,
    503,
    541,
    577,
    619,
    661,
    709,
    761,
    823,
    887,
    953,
    1031,
    1109,
    1193,
    1289,
    1381,
    1493,
    1613,
    1741,
    1879,
    2029,
    2179,
    2357,
    2549,
    2753,
    2971,
    3209,
    3469,
    3739,
    4027,
    4349,
    4703,
    5087,
    5503,
    5953,
    6427,
    6949,
    7517,
    8123,
    8783,
    9497,
    10273,
    11113,
    12011,
    12983,
    14033,
    15173,
    16411,
    17749,
    19183,
    20753,
    22447,
    24281,
    26267,
    28411,
    30727,
    33223,
    35933,
    38873,
    42043,
    45481,
    49201,
    53201,
    57557,
    62233,
    67307,
    72817,
    78779,
    85229,
    92203,
    99733,
    107897,
    116731,
    126271,
    136607,
    147793,
    159871,
    172933,
    187091,
    202409,
    218971,
    236897,
    256279,
    277261,
    299951,
    324503,
    351061,
    379787,
    410857,
    444487,
    480881,
    520241,
    562841,
    608903,
    658753,
    712697,
    771049,
    834181,
    902483,
    976369,
    1056323,
    1142821,
    1236397,
    1337629,
    1447153,
    1565659,
    1693859,
    1832561,
    1982627,
    2144977,
    2320627,
    2510653,
    2716249,
    2938679,
    3179303,
    3439651,
    3721303,
    4026031,
    4355707,
    4712381,
    5098259,
    5515729,
    5967347,
    6456007,
    6984629,
    7556579,
    8175383,
    8844859,
    9569143,
    10352717,
    11200489,
    12117689,
    13109983,
    14183539,
    15345007,
    16601593,
    17961079,
    19431899,
    21023161,
    22744717,
    24607243,
    26622317,
    28802401,
    31160981,
    33712729,
    36473443,
    39460231,
    42691603,
    46187573,
    49969847,
    54061849,
    58488943,
    63278561,
    68460391,
    74066549,
    80131819,
    86693767,
    93793069,
    101473717,
    109783337,
    118773397,
    128499677,
    139022417,
    150406843,
    162723577,
    176048909,
    190465427,
    206062531,
    222936881,
    241193053,
    260944219,
    282312799,
    305431229,
    330442829,
    357502601,
    386778277,
    418451333,
    452718089,
    489790921,
    529899637,
    573292817,
    620239453,
    671030513,
    725980837,
    785430967,
    849749479,
    919334987,
    994618837,
    1076067617,
    1164186217,
    1259520799,
    1362662261,
    1474249943,
    1594975441,
    1725587117,
    1866894511,
    2019773507,
    2185171673,
    2364114217,
    2557710269,
    2767159799,
    2993761039,
    3238918481,
    3504151727,
    3791104843,
    4101556399,
    4294967291,
    6442450933,
    8589934583,
    12884901857,
    17179869143,
    25769803693,
    34359738337,
    51539607367,
    68719476731,
    103079215087,
    137438953447,
    206158430123,
    274877906899,
    412316860387,
    549755813881,
    824633720731,
    1099511627689,
    1649267441579,
    2199023255531,
    3298534883309,
    4398046511093,
    6597069766607,
    8796093022151,
    13194139533241,
    17592186044399,
    26388279066581,
    35184372088777,
    52776558133177,
    70368744177643,
    105553116266399,
    140737488355213,
    211106232532861,
    281474976710597,
    562949953421231,
    1125899906842597,
    2251799813685119,
    4503599627370449,
    9007199254740881,
    18014398509481951,
    36028797018963913,
    72057594037927931,
    144115188075855859,
    288230376151711717,
    576460752303423433,
    1152921504606846883,
    2305843009213693951,
    4611686018427387847,
    9223372036854775783,
    18446744073709551557,
];

/// ninja's `MurmurHash2` (seed `0xDECAFBAD`).
fn murmur2(key: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0xDECA_FBAD ^ (key.len() as u32);
    let mut chunks = key.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        if rest.len() == 3 {
            h ^= (rest[2] as u32) << 16;
        }
        if rest.len() >= 2 {
            h ^= (rest[1] as u32) << 8;
        }
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

/// libstdc++'s `_Prime_rehash_policy::_M_next_bkt`: (bucket count, next resize).
fn next_bucket_count(n: u64) -> (u64, u64) {
    const FAST: [u64; 14] = [2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13];
    if let Some(&b) = FAST.get(n as usize) {
        return if n == 0 { (1, 0) } else { (b, b) };
    }
    let last = PRIMES.len() - 2;
    let i = 6 + PRIMES[6..last].partition_point(|&p| p < n);
    if i == last {
        (PRIMES[i], u64::MAX)
    } else {
        (PRIMES[i], PRIMES[i])
    }
}

const NONE: usize = usize::MAX;
/// Index of the list head ("before begin") in `next`.
const HEAD: usize = 0;

/// The iteration order of a libstdc++ `unordered_map` after inserting `keys` in order
/// (all distinct), as indices into `keys`.
pub fn iteration_order<'a>(keys: impl Iterator<Item = &'a [u8]>) -> Vec<usize> {
    let codes: Vec<u64> = keys.map(|k| murmur2(k) as u64).collect();
    // Element i is link i + 1; link 0 is the list head.
    let mut next = vec![NONE; codes.len() + 1];
    let mut buckets: Vec<usize> = vec![NONE; 1];
    let mut bucket_count: u64 = 1;
    let mut next_resize: u64 = 0;
    let bucket_of = |link: usize, count: u64| (codes[link - 1] % count) as usize;
    for (i, &code) in codes.iter().enumerate() {
        let n_elt = i as u64;
        if n_elt + 1 > next_resize {
            let min_buckets = (n_elt + 1).max(if next_resize == 0 { 11 } else { 0 });
            if min_buckets >= bucket_count {
                let (count, resize) = next_bucket_count((min_buckets + 1).max(bucket_count * 2));
                next_resize = resize;
                bucket_count = count;
                // _M_rehash_aux for unique keys.
                let mut nb = vec![NONE; count as usize];
                let mut p = next[HEAD];
                next[HEAD] = NONE;
                let mut bbegin = 0usize;
                while p != NONE {
                    let after = next[p];
                    let b = bucket_of(p, count);
                    if nb[b] == NONE {
                        next[p] = next[HEAD];
                        next[HEAD] = p;
                        nb[b] = HEAD;
                        if next[p] != NONE {
                            nb[bbegin] = p;
                        }
                        bbegin = b;
                    } else {
                        next[p] = next[nb[b]];
                        next[nb[b]] = p;
                    }
                    p = after;
                }
                buckets = nb;
            } else {
                next_resize = bucket_count;
            }
        }
        let link = i + 1;
        let b = (code % bucket_count) as usize;
        if buckets[b] != NONE {
            next[link] = next[buckets[b]];
            next[buckets[b]] = link;
        } else {
            next[link] = next[HEAD];
            next[HEAD] = link;
            if next[link] != NONE {
                let nb = bucket_of(next[link], bucket_count);
                buckets[nb] = link;
            }
            buckets[b] = HEAD;
        }
    }
    let mut order = Vec::with_capacity(codes.len());
    let mut p = next[HEAD];
    while p != NONE {
        order.push(p - 1);
        p = next[p];
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected orders printed by a C++ program inserting the same keys into a
    /// `std::unordered_map` with ninja's hash (GCC 12, libstdc++ 6.0.30).
    #[test]
    fn matches_libstdcxx() {
        let keys: [&[u8]; 4] = [b"foo.o", b"foo.c", b"bar.o", b"bar.c"];
        assert_eq!(iteration_order(keys.into_iter()), [3, 2, 1, 0]);
        let many: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("obj/d{}/f{i}.o", i % 7).into_bytes())
            .collect();
        let order = iteration_order(many.iter().map(|k| k.as_slice()));
        assert_eq!(order[..5], [4999, 4994, 4992, 4990, 4989]);
        let sum = order.iter().enumerate().fold(0u64, |s, (p, &x)| {
            (s + (p as u64 + 1) * x as u64) % 1_000_000_007
        });
        assert_eq!(sum, 370_303_326);
    }
}
