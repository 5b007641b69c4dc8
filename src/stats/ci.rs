//! Confidence intervals (methods.md §2), following PHEindicatormethods: Wilson score for
//! proportions, exact Poisson below 10 and Byar's from 10 for rates, Dobson for DSRs,
//! Student's t for means. Quantiles come from statrs, polished with Newton steps.

use statrs::distribution::{Continuous, ContinuousCDF, Gamma, Normal, StudentsT};

/// A value with its lower and upper limits; `None` where there is no value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Two-sided standard normal critical value z = Φ⁻¹(1 − α/2) for a confidence level.
pub(crate) fn z_value(level: f64) -> f64 {
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    normal.inverse_cdf(1.0 - (1.0 - level) / 2.0)
}

/// Refines an inverse-CDF answer with Newton steps on the same distribution's CDF, because
/// statrs stops its own search before the 1e-12 accuracy the reference comparisons need.
fn polish<D: ContinuousCDF<f64, f64> + Continuous<f64, f64>>(
    dist: &D,
    p: f64,
    mut x: f64,
    min: f64,
) -> f64 {
    for _ in 0..50 {
        let density = dist.pdf(x);
        if density <= 0.0 || !density.is_finite() {
            break;
        }
        let step = (dist.cdf(x) - p) / density;
        let next = (x - step).max(min);
        if (next - x).abs() <= 1e-15 * x.abs().max(1e-300) {
            x = next;
            break;
        }
        x = next;
    }
    x
}

/// Quantile of Gamma(shape, rate 1).
pub(crate) fn gamma_quantile(p: f64, shape: f64) -> f64 {
    let dist = Gamma::new(shape, 1.0).expect("positive shape");
    let start = dist.inverse_cdf(p);
    polish(&dist, p, start, 0.0)
}

/// Quantile of Student's t with `df` degrees of freedom.
pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    let dist = StudentsT::new(0.0, 1.0, df).expect("positive df");
    let start = dist.inverse_cdf(p);
    polish(&dist, p, start, f64::NEG_INFINITY)
}

/// Wilson score interval for `x` events out of `n` (§2.2), scaled by `multiplier`.
pub(crate) fn wilson(x: f64, n: f64, level: f64, multiplier: f64) -> Interval {
    let z = z_value(level);
    let z2 = z * z;
    let root = z * (z2 + 4.0 * x * (1.0 - x / n)).sqrt();
    let denom = 2.0 * (n + z2);
    Interval {
        value: x / n * multiplier,
        lower: Some((2.0 * x + z2 - root) / denom * multiplier),
        upper: Some((2.0 * x + z2 + root) / denom * multiplier),
    }
}

/// Byar's lower limit for a count (may be negative for tiny counts: then no value).
pub(crate) fn byar_lower(x: f64, z: f64) -> f64 {
    x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * x.sqrt())).powi(3)
}

/// Byar's upper limit for a count.
pub(crate) fn byar_upper(x: f64, z: f64) -> f64 {
    let x1 = x + 1.0;
    x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * x1.sqrt())).powi(3)
}

/// Limits for a Poisson count: exact below 10, Byar's from 10 (§2.3).
pub(crate) fn poisson_count_limits(x: f64, level: f64) -> (Option<f64>, Option<f64>) {
    let alpha = 1.0 - level;
    if x < 10.0 {
        let lower = if x == 0.0 {
            0.0
        } else {
            gamma_quantile(alpha / 2.0, x)
        };
        (
            Some(lower),
            Some(gamma_quantile(1.0 - alpha / 2.0, x + 1.0)),
        )
    } else {
        let z = z_value(level);
        let lower = byar_lower(x, z);
        (
            if lower < 0.0 { None } else { Some(lower) },
            Some(byar_upper(x, z)),
        )
    }
}

/// A crude rate x / n with exact or Byar's limits, scaled by `multiplier` (§2.3).
pub(crate) fn rate(x: f64, n: f64, level: f64, multiplier: f64) -> Interval {
    let (lo, hi) = poisson_count_limits(x, level);
    Interval {
        value: x / n * multiplier,
        lower: lo.map(|c| c / n * multiplier),
        upper: hi.map(|c| c / n * multiplier),
    }
}

/// The European Standard Population 2013 weights, 0-4 … 90+ (§2.4).
pub(crate) const ESP2013: [f64; 19] = [
    5000.0, 5500.0, 5500.0, 5500.0, 6000.0, 6000.0, 6500.0, 7000.0, 7000.0, 7000.0, 7000.0, 6500.0,
    6000.0, 5500.0, 5000.0, 4000.0, 2500.0, 1500.0, 1000.0,
];

/// A directly standardised rate by Dobson's method (§2.4); `None` when the total count is
/// below 10. `counts`, `pops` and `weights` are aligned by age band.
pub(crate) fn dsr(
    counts: &[f64],
    pops: &[f64],
    weights: &[f64],
    level: f64,
    multiplier: f64,
) -> Option<Interval> {
    let total: f64 = counts.iter().sum();
    if total < 10.0 {
        return None;
    }
    let w_sum: f64 = weights.iter().sum();
    let mut rate_sum = 0.0;
    let mut var_sum = 0.0;
    for ((x, n), w) in counts.iter().zip(pops).zip(weights) {
        rate_sum += x * w / n;
        var_sum += x * (w / n).powi(2);
    }
    let value = rate_sum / w_sum * multiplier;
    let var = var_sum / (w_sum * w_sum);
    let z = z_value(level);
    let scale = (var / total).sqrt() * multiplier;
    Some(Interval {
        value,
        lower: Some(value + scale * (byar_lower(total, z) - total)),
        upper: Some(value + scale * (byar_upper(total, z) - total)),
    })
}

/// A mean with Student's t limits (§2.5); needs at least 2 values.
#[cfg_attr(not(test), allow(dead_code))] // a methods.md rule tested against its reference; the pack does not use it yet
pub(crate) fn mean(values: &[f64], level: f64) -> Option<Interval> {
    let k = values.len();
    if k < 2 {
        return None;
    }
    let kf = k as f64;
    let m = values.iter().sum::<f64>() / kf;
    let s = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (kf - 1.0)).sqrt();
    let t = t_quantile(1.0 - (1.0 - level) / 2.0, kf - 1.0);
    let half = t * s / kf.sqrt();
    Some(Interval {
        value: m,
        lower: Some(m - half),
        upper: Some(m + half),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        a == b || ((a - b) / b).abs() <= tol
    }

    #[test]
    fn critical_values_match_r() {
        assert!(
            close(z_value(0.95), 1.959963984540054, 1e-15),
            "{}",
            z_value(0.95)
        );
        assert!(
            close(z_value(0.998), 3.090232306167813, 1e-15),
            "{}",
            z_value(0.998)
        );
    }

    #[test]
    fn exact_poisson_table_of_methods_md() {
        // methods.md §2.3: x, lower95, upper95, lower998, upper998 (correctly rounded).
        let table: [(f64, f64, f64, f64, f64); 10] = [
            (0.0, 0.0, 3.6888794541139363, 0.0, 6.907755278982137),
            (
                1.0,
                0.025317807984289876,
                5.571643390938899,
                0.0010005003335835335,
                9.233413476451586,
            ),
            (
                2.0,
                0.2422092785439649,
                7.224687667723961,
                0.04540201776948956,
                11.228872242412663,
            ),
            (
                3.0,
                0.6186721228956013,
                8.767273069742327,
                0.1905333775684032,
                13.062240779188071,
            ),
            (
                4.0,
                1.0898653736263249,
                10.241588675403698,
                0.42855241362842295,
                14.794149222537209,
            ),
            (
                5.0,
                1.6234863901184204,
                11.668332079322669,
                0.7393717319178326,
                16.45474520368011,
            ),
            (
                6.0,
                2.2018942534908508,
                13.059474022518685,
                1.1071046602556394,
                18.06163684019907,
            ),
            (
                7.0,
                2.814363051519866,
                14.42267536170238,
                1.520336260398809,
                19.62617739538424,
            ),
            (
                8.0,
                3.4538321767485014,
                15.763189220193315,
                1.9708139217403657,
                21.15619816583998,
            ),
            (
                9.0,
                4.115373097378332,
                17.08480345141917,
                2.452424404363775,
                22.65737330906293,
            ),
        ];
        for (x, l95, u95, l998, u998) in table {
            let (a, b) = poisson_count_limits(x, 0.95);
            let (c, d) = poisson_count_limits(x, 0.998);
            for (got, want) in [(a, l95), (b, u95), (c, l998), (d, u998)] {
                assert!(close(got.unwrap(), want, 1e-12), "x={x}: {got:?} vs {want}");
            }
        }
    }

    #[test]
    fn student_t_quantiles_match_r() {
        for (df, t95, t998) in [
            (1.0, 12.706204736174694, 318.30883898555015),
            (7.0, 2.364624251592784, 4.785289628638333),
            (19.0, 2.0930240544083087, 3.5794001489547154),
            (29.0, 2.045229642132703, 3.3962402883568026),
        ] {
            assert!(
                close(t_quantile(0.975, df), t95, 1e-12),
                "df {df}: {}",
                t_quantile(0.975, df)
            );
            assert!(
                close(t_quantile(0.999, df), t998, 1e-12),
                "df {df}: {}",
                t_quantile(0.999, df)
            );
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the reference values, copied verbatim
    fn means_reproduce_phe_student_t() {
        // tests/reference/PHEindicatormethods: testdata_Mean (raw values) and
        // generated/phe_mean_grouped.csv (expected, both levels).
        let raw = include_str!(
            "../../tests/reference/PHEindicatormethods/csv/testdata_Mean__testdata_Mean.csv"
        );
        let expected = [
            (
                "Area1",
                53.704345000000004,
                36.168325241336461,
                71.240364758663546,
                18.216705294788753,
                89.191984705211254,
            ),
            (
                "Area2",
                5678.9629577777778,
                4625.7900224529731,
                6732.1358931025825,
                3859.0770997295986,
                7498.848815825957,
            ),
        ];
        for (area, value, l95, u95, l998, u998) in expected {
            let values: Vec<f64> = raw
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(','))
                .filter(|(a, _)| *a == area)
                .map(|(_, v)| v.parse().unwrap())
                .collect();
            let m95 = mean(&values, 0.95).unwrap();
            let m998 = mean(&values, 0.998).unwrap();
            assert!(close(m95.value, value, 1e-9));
            for (got, want) in [
                (m95.lower, l95),
                (m95.upper, u95),
                (m998.lower, l998),
                (m998.upper, u998),
            ] {
                assert!(close(got.unwrap(), want, 1e-9), "{area}: {got:?} vs {want}");
            }
        }
        assert!(mean(&[1.0], 0.95).is_none());
    }

    #[test]
    fn worked_example_4_4_dsr_arithmetic() {
        // methods.md §4.4: two bands, weights 60,000/40,000, counts 30/20, pops 10,000/2,000.
        let r = dsr(
            &[30.0, 20.0],
            &[10000.0, 2000.0],
            &[60000.0, 40000.0],
            0.95,
            100000.0,
        )
        .unwrap();
        assert!(close(r.value, 580.0, 1e-12));
        assert!(close(r.lower.unwrap(), 406.269993289761, 1e-12));
        assert!(close(r.upper.unwrap(), 794.538509996425, 1e-12));
        assert!(dsr(
            &[9.0, 0.0],
            &[10000.0, 2000.0],
            &[60000.0, 40000.0],
            0.95,
            1e5
        )
        .is_none());
    }

    #[test]
    fn worked_example_4_3() {
        // methods.md §4.3-style check by hand: 0 of 20 has Wilson lower 0 and upper
        // z²/(n+z²) = 3.841459/23.841459 = 0.16112515805281932 (reference p1).
        let w = wilson(0.0, 20.0, 0.95, 1.0);
        assert_eq!(w.lower, Some(0.0));
        assert!(close(w.upper.unwrap(), 0.16112515805281932, 1e-12));
    }
}
