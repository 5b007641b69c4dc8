//! XmR statistical process control in the NHS "Making Data Count" style (methods.md §1),
//! defaulting to NHSRplotthedots v0.2.2; the newer MDC conventions are named options.

use crate::period::vocabulary;

vocabulary! {
    /// Which direction of change is an improvement.
    pub(crate) Direction {
        Increase = "increase",
        Decrease = "decrease",
        Neutral = "neutral",
    }
}

vocabulary! {
    /// Which points the two-in-three rule counts (methods.md §1.10).
    pub(crate) TwoInThree {
        Classic = "classic",
        Beyond2Sigma = "beyond-2-sigma",
    }
}

vocabulary! {
    /// Whether a repeated value breaks a trend (default) or is skipped.
    pub(crate) TrendTies {
        Break = "break",
        Skip = "skip",
    }
}

vocabulary! {
    /// How conflicting signals resolve: fixed priority (default) or improvement wins.
    pub(crate) Conflict {
        Priority = "priority",
        ImprovementWins = "improvement-wins",
    }
}

vocabulary! {
    /// The `point_type` of a point (methods.md §1.7).
    pub(crate) PointType {
        CommonCause = "common_cause",
        Improvement = "special_cause_improvement",
        Concern = "special_cause_concern",
        NeutralHigh = "special_cause_neutral_high",
        NeutralLow = "special_cause_neutral_low",
    }
}

vocabulary! {
    /// The variation icon from the latest point (methods.md §1.9).
    pub(crate) Variation {
        CommonCause = "common_cause",
        ImprovementHigh = "improvement_high",
        ImprovementLow = "improvement_low",
        ConcernHigh = "concern_high",
        ConcernLow = "concern_low",
        NeutralHigh = "neutral_high",
        NeutralLow = "neutral_low",
    }
}

vocabulary! {
    /// Whether the process will reliably meet the target (methods.md §1.9).
    pub(crate) Assurance {
        Pass = "pass",
        Fail = "fail",
        Inconsistent = "inconsistent",
        None = "none",
    }
}

/// Settings of an XmR chart; `Default` is NHSRplotthedots' behaviour.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpcOptions {
    pub direction: Direction,
    pub screen_outliers: bool,
    /// Fix each group's limits on its first N points.
    pub fix_after: Option<usize>,
    pub two_in_three: TwoInThree,
    pub shift_length: usize,
    pub trend_length: usize,
    pub trend_ties: TrendTies,
    pub conflict: Conflict,
}

impl Default for SpcOptions {
    fn default() -> Self {
        SpcOptions {
            direction: Direction::Increase,
            screen_outliers: true,
            fix_after: None,
            two_in_three: TwoInThree::Classic,
            shift_length: 7,
            trend_length: 7,
            trend_ties: TrendTies::Break,
            conflict: Conflict::Priority,
        }
    }
}

vocabulary! {
    /// The rule whose label a point carries (methods.md §1.6), for the board's explanation.
    pub(crate) Rule {
        AboveUpperLimit = "above upper limit",
        BelowLowerLimit = "below lower limit",
        TrendIncreasing = "trend increasing",
        TrendDecreasing = "trend decreasing",
        TwoOfThreeAbove = "2 of 3 above",
        TwoOfThreeBelow = "2 of 3 below",
        RunAbove = "run above",
        RunBelow = "run below",
    }
}

/// Every special-cause rule a point meets, whichever labels it (NHSRplotthedots names only
/// the first by priority; a board asks which rules fired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Signals {
    /// Beyond a process limit.
    pub astronomical: bool,
    pub shift: bool,
    pub trend: bool,
    pub two_in_three: bool,
}

impl Signals {
    /// `astronomical`, `shift`, `trend`, `two-in-three`, joined with `+`; empty for none.
    pub(crate) fn names(&self) -> String {
        [
            (self.astronomical, "astronomical"),
            (self.shift, "shift"),
            (self.trend, "trend"),
            (self.two_in_three, "two-in-three"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join("+")
    }
}

/// One point of the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SpcPoint {
    pub value: f64,
    pub rebase_group: usize,
    pub mean: f64,
    pub lpl: f64,
    pub upl: f64,
    pub point_type: PointType,
    /// The rule that labelled the point; `None` for common cause.
    pub rule: Option<Rule>,
    /// Every rule the point meets.
    pub signals: Signals,
}

/// The chart's problems that make it impossible to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SpcError {
    /// A group (by the index of its first point) has fewer than 2 points.
    GroupTooShort { first: usize },
}

/// The limits of one group (methods.md §1.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limits {
    pub mean: f64,
    pub lpl: f64,
    pub upl: f64,
    pub l2: f64,
    pub u2: f64,
}

/// Mean, moving-range limits with optional outlier screening, from the values that set them.
pub(crate) fn limits(values: &[f64], screen_outliers: bool) -> Limits {
    let m = values.len() as f64;
    let mean = values.iter().sum::<f64>() / m;
    let mrs: Vec<f64> = values.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let mut amr = mrs.iter().sum::<f64>() / mrs.len() as f64;
    if screen_outliers && amr > 0.0 {
        let cut = 3.267 * amr;
        let kept: Vec<f64> = mrs.iter().copied().filter(|mr| *mr < cut).collect();
        amr = kept.iter().sum::<f64>() / kept.len() as f64;
    }
    let two_sigma = 2.0 * (2.66 / 3.0);
    Limits {
        mean,
        lpl: mean - 2.66 * amr,
        upl: mean + 2.66 * amr,
        l2: mean - two_sigma * amr,
        u2: mean + two_sigma * amr,
    }
}

fn sign(x: f64) -> i8 {
    if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }
}

/// Marks every point of each run that satisfies `ends_at`, spread back over `len` points.
fn members(n: usize, len: usize, ends_at: impl Fn(usize) -> bool) -> Vec<bool> {
    let mut member = vec![false; n];
    for i in 0..n {
        if i + 1 >= len && ends_at(i) {
            for m in member.iter_mut().take(i + 1).skip(i + 1 - len) {
                *m = true;
            }
        }
    }
    member
}

/// Labels one group's points: the rule and sign v of each label (methods.md §1.5–1.6), and
/// every rule each point meets.
fn label_group(y: &[f64], lim: &Limits, opts: &SpcOptions) -> Vec<(Option<(Rule, i8)>, Signals)> {
    let n = y.len();
    let outside: Vec<bool> = y.iter().map(|v| *v > lim.upl || *v < lim.lpl).collect();
    let side: Vec<i8> = y.iter().map(|v| sign(v - lim.mean)).collect();
    let beyond2: Vec<bool> = y.iter().map(|v| *v > lim.u2 || *v < lim.l2).collect();
    let band: Vec<bool> = match opts.two_in_three {
        TwoInThree::Classic => (0..n).map(|i| beyond2[i] && !outside[i]).collect(),
        TwoInThree::Beyond2Sigma => beyond2.clone(),
    };
    // step[i] = sign(y_i − y_{i−1}); 0 for the first point.
    let step: Vec<i8> = (0..n)
        .map(|i| if i == 0 { 0 } else { sign(y[i] - y[i - 1]) })
        .collect();

    let trend_len = opts.trend_length;
    let trend = match opts.trend_ties {
        TrendTies::Break => members(n, trend_len, |i| {
            let s = &step[i + 2 - trend_len..=i];
            s.iter().all(|x| *x == 1) || s.iter().all(|x| *x == -1)
        }),
        TrendTies::Skip => {
            // A repeated value neither adds to nor breaks a trend: count distinct-value
            // steps backwards from i until `trend_len − 1` of them agree.
            let mut member = vec![false; n];
            for i in 1..n {
                if step[i] == 0 {
                    continue;
                }
                let dir = step[i];
                let mut count = 0;
                let mut j = i;
                while j >= 1 && (step[j] == dir || step[j] == 0) {
                    if step[j] == dir {
                        count += 1;
                    }
                    if count == trend_len - 1 {
                        for m in member.iter_mut().take(i + 1).skip(j - 1) {
                            *m = true;
                        }
                        break;
                    }
                    j -= 1;
                }
            }
            member
        }
    };
    let shift_len = opts.shift_length;
    let shift = members(n, shift_len, |i| {
        side[i] != 0 && side[i + 1 - shift_len..i].iter().all(|s| *s == side[i])
    });
    let mut two_of_three = vec![false; n];
    for k in 0..n.saturating_sub(2) {
        let in_band = (k..k + 3).filter(|&i| band[i]).count();
        let total: i8 = side[k..k + 3].iter().sum();
        if in_band >= 2 && total.abs() == 3 {
            for (i, flag) in two_of_three.iter_mut().enumerate().skip(k).take(3) {
                if band[i] {
                    *flag = true;
                }
            }
        }
    }

    let improving = |v: i8| match opts.direction {
        Direction::Increase => v == 1,
        Direction::Decrease => v == -1,
        Direction::Neutral => false,
    };
    (0..n)
        .map(|i| {
            let trend_sign = || {
                let dir = if i + 1 < n && trend[i] && trend[i + 1] {
                    step[i + 1]
                } else {
                    step[i]
                };
                if dir == 1 {
                    1
                } else {
                    -1
                }
            };
            let by_side = |up: Rule, down: Rule| if side[i] == 1 { (up, 1) } else { (down, -1) };
            // Signals in priority order, each with its sign.
            let mut signals = Vec::with_capacity(4);
            if outside[i] {
                signals.push(by_side(Rule::AboveUpperLimit, Rule::BelowLowerLimit));
            }
            if trend[i] {
                signals.push(if trend_sign() == 1 {
                    (Rule::TrendIncreasing, 1)
                } else {
                    (Rule::TrendDecreasing, -1)
                });
            }
            if two_of_three[i] {
                signals.push(by_side(Rule::TwoOfThreeAbove, Rule::TwoOfThreeBelow));
            }
            if shift[i] {
                signals.push(by_side(Rule::RunAbove, Rule::RunBelow));
            }
            let label = match opts.conflict {
                Conflict::ImprovementWins if signals.iter().any(|(_, v)| improving(*v)) => {
                    signals.iter().find(|(_, v)| improving(*v)).copied()
                }
                _ => signals.first().copied(),
            };
            let met = Signals {
                astronomical: outside[i],
                shift: shift[i],
                trend: trend[i],
                two_in_three: two_of_three[i],
            };
            (label, met)
        })
        .collect()
}

fn point_type(v: i8, direction: Direction) -> PointType {
    match (v, direction) {
        (0, _) => PointType::CommonCause,
        (1, Direction::Increase) | (-1, Direction::Decrease) => PointType::Improvement,
        (_, Direction::Increase) | (_, Direction::Decrease) => PointType::Concern,
        (1, Direction::Neutral) => PointType::NeutralHigh,
        (_, Direction::Neutral) => PointType::NeutralLow,
    }
}

/// The XmR chart of `values` (already in date order). `group_starts` are the indices of the
/// points that start a new rebase group (each ≥ 1, ascending, without repeats).
pub(crate) fn xmr(
    values: &[f64],
    group_starts: &[usize],
    opts: &SpcOptions,
) -> Result<Vec<SpcPoint>, SpcError> {
    let mut bounds = vec![0];
    bounds.extend(
        group_starts
            .iter()
            .copied()
            .filter(|s| *s > 0 && *s < values.len()),
    );
    bounds.push(values.len());
    let mut out = Vec::with_capacity(values.len());
    for (g, w) in bounds.windows(2).enumerate() {
        let y = &values[w[0]..w[1]];
        if y.len() < 2 {
            return Err(SpcError::GroupTooShort { first: w[0] });
        }
        let m = opts.fix_after.map_or(y.len(), |n| n.min(y.len()));
        let lim = limits(&y[..m], opts.screen_outliers);
        let labels = label_group(y, &lim, opts);
        for (value, (label, signals)) in y.iter().zip(labels) {
            out.push(SpcPoint {
                value: *value,
                rebase_group: g,
                mean: lim.mean,
                lpl: lim.lpl,
                upl: lim.upl,
                point_type: point_type(label.map_or(0, |(_, v)| v), opts.direction),
                rule: label.map(|(r, _)| r),
                signals,
            });
        }
    }
    Ok(out)
}

/// The chart's summary: n, the latest point's limits, variation and assurance (§1.9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    pub n: usize,
    pub mean: f64,
    pub lpl: f64,
    pub upl: f64,
    pub variation: Variation,
    pub assurance: Assurance,
}

pub(crate) fn summarise(
    points: &[SpcPoint],
    direction: Direction,
    target: Option<f64>,
) -> Option<Summary> {
    let last = points.last()?;
    let variation = match (last.point_type, direction) {
        (PointType::CommonCause, _) => Variation::CommonCause,
        (PointType::Improvement, Direction::Decrease) => Variation::ImprovementLow,
        (PointType::Improvement, _) => Variation::ImprovementHigh,
        (PointType::Concern, Direction::Decrease) => Variation::ConcernHigh,
        (PointType::Concern, _) => Variation::ConcernLow,
        (PointType::NeutralHigh, _) => Variation::NeutralHigh,
        (PointType::NeutralLow, _) => Variation::NeutralLow,
    };
    let assurance = match (target, direction) {
        (None, _) | (_, Direction::Neutral) => Assurance::None,
        (Some(t), d) if t > last.upl => {
            if d == Direction::Increase {
                Assurance::Fail
            } else {
                Assurance::Pass
            }
        }
        (Some(t), d) if t < last.lpl => {
            if d == Direction::Increase {
                Assurance::Pass
            } else {
                Assurance::Fail
            }
        }
        _ => Assurance::Inconsistent,
    };
    Some(Summary {
        n: points.len(),
        mean: last.mean,
        lpl: last.lpl,
        upl: last.upl,
        variation,
        assurance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A minimal RFC 4180 line splitter for the reference files (no embedded newlines there).
    fn split(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => out.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        out.push(cur);
        out
    }

    fn table(text: &str) -> Vec<BTreeMap<String, String>> {
        let mut lines = text.lines();
        let header = split(lines.next().unwrap());
        lines
            .map(|l| header.iter().cloned().zip(split(l)).collect())
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        a == b || ((a - b) / b.abs().max(1e-300)).abs() <= 1e-9
    }

    fn options(row: &BTreeMap<String, String>) -> SpcOptions {
        SpcOptions {
            direction: Direction::parse(&row["improvement_direction"]).unwrap(),
            screen_outliers: row["screen_outliers"] == "TRUE",
            fix_after: row["fix_after_n_points"].parse().ok(),
            ..SpcOptions::default()
        }
    }

    /// Every point of the 47 NHSRplotthedots reference cases (tests/reference/NHSRplotthedots).
    #[test]
    fn reproduces_nhsrplotthedots_points_and_summaries() {
        let points = table(include_str!(
            "../../tests/reference/NHSRplotthedots/generated/ptd_points.csv"
        ));
        let summaries = table(include_str!(
            "../../tests/reference/NHSRplotthedots/generated/ptd_summary.csv"
        ));
        let mut cases: BTreeMap<String, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
        for p in &points {
            cases.entry(p["case"].clone()).or_default().push(p);
        }
        assert_eq!(cases.len(), 47);
        let mut checked = 0;
        for s in &summaries {
            let rows = &cases[&s["case"]];
            let opts = options(rows[0]);
            let y: Vec<f64> = rows.iter().map(|r| r["y"].parse().unwrap()).collect();
            let starts: Vec<usize> = rows[0]["rebase_at_i"]
                .parse::<usize>()
                .map(|i| vec![i - 1])
                .unwrap_or_default();
            let chart = xmr(&y, &starts, &opts).unwrap();
            for (r, p) in rows.iter().zip(&chart) {
                let case = &s["case"];
                assert_eq!(
                    p.rebase_group.to_string(),
                    r["rebase_group"],
                    "{case} i={}",
                    r["i"]
                );
                for (got, key) in [(p.mean, "mean"), (p.lpl, "lpl"), (p.upl, "upl")] {
                    let want: f64 = r[key].parse().unwrap();
                    assert!(
                        close(got, want),
                        "{case} i={} {key}: {got} vs {want}",
                        r["i"]
                    );
                }
                assert_eq!(
                    p.point_type.as_str(),
                    r["point_type"],
                    "{case} i={}",
                    r["i"]
                );
                checked += 1;
            }
            let target = s["target"].parse::<f64>().ok();
            let sum = summarise(&chart, opts.direction, target).unwrap();
            assert_eq!(sum.n.to_string(), s["n"]);
            assert_eq!(sum.variation.as_str(), s["variation_icon"], "{}", s["case"]);
            let assurance = match s["assurance_type"].as_str() {
                "consistent_pass" => "pass",
                "consistent_fail" => "fail",
                "" => "none",
                other => other,
            };
            assert_eq!(sum.assurance.as_str(), assurance, "{}", s["case"]);
            assert!(close(sum.mean, s["last_mean"].parse().unwrap()));
        }
        assert_eq!(checked, 1018);
    }

    #[test]
    fn worked_example_limits_by_hand() {
        // Values 1,2,1,2,10: MRs 1,1,1,8 → AMR 2.75; 8 ≥ 3.267×2.75 = 8.98? No: 8 < 8.98, kept.
        // mean = 16/5 = 3.2; UPL = 3.2 + 2.66×2.75 = 10.515; LPL = 3.2 − 7.315 = −4.115.
        let lim = limits(&[1.0, 2.0, 1.0, 2.0, 10.0], true);
        assert!((lim.mean - 3.2).abs() < 1e-12);
        assert!((lim.upl - 10.515).abs() < 1e-12);
        assert!((lim.lpl + 4.115).abs() < 1e-12);
        // Values 1,1,1,1,20: MRs 0,0,0,19 → AMR 4.75; 19 ≥ 15.52 is screened out → AMR 0.
        let lim = limits(&[1.0, 1.0, 1.0, 1.0, 20.0], true);
        assert_eq!(lim.upl, lim.mean);
    }

    #[test]
    fn a_group_needs_two_points() {
        assert_eq!(
            xmr(&[1.0, 2.0, 3.0], &[2], &SpcOptions::default()),
            Err(SpcError::GroupTooShort { first: 2 })
        );
    }
}
