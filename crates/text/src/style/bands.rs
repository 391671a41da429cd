//! Level shares of the style comparison, written by `bench/style/run --emit-bands
//! crates/text/src/style/bands.rs` from 127983 held-out pairs (4657 same-author) of accounts
//! of 500, 1,000 and 2,000 words: per band of [`super::BANDS`] then *else*, the share of
//! same-author pairs (m) and of different-author pairs (u), half a pair added to each cell.

/// (m, u) per level.
pub(crate) const BAND_SHARES: ([f64; 4], [f64; 4]) = (
    [
        0.35039708091865207,
        0.3392358875295128,
        0.22483365529083493,
        0.08553337626100022,
    ],
    [
        0.009531493253762326,
        0.062325668137000516,
        0.15160790736896732,
        0.7765349312402698,
    ],
);
