//! Unit tests of the parent module, kept apart so the module stays one concept to read.

use super::*;

#[test]
fn slope_of_a_line() {
    let mut s = Slope::default();
    s.add(0.0, 10.0);
    s.add(1.0, 12.0);
    assert_eq!(s.slope(), None, "two points are not a trend");
    s.add(2.0, 14.0);
    assert!((s.slope().unwrap() - 2.0).abs() < 1e-9);
}

#[test]
fn the_grid_skips_missed_ticks() {
    assert_eq!(next_tick(0, 0.01, 1.0), 1);
    assert_eq!(next_tick(3, 3.2, 1.0), 4);
    // A sample that took 2.5 intervals: wake at the next grid point, not three times now.
    assert_eq!(next_tick(3, 6.5, 1.0), 7);
}

#[test]
fn rollup_rate_follows_its_cost() {
    assert_eq!(pss_every(0.0001, 1.0, 1), 1);
    assert_eq!(pss_every(0.01, 1.0, 1), 5);
    assert_eq!(pss_every(0.0001, 1.0, 50), 10);
    assert_eq!(pss_every(10.0, 1.0, 1), 60);
}
