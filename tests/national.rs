//! Many areas (issue 17): a council's pack benchmarked against its peers as bcfmon computed
//! them, from a results table for many areas given as the `benchmarks` extract.

use super::{copy_dir, manifest_dir, run_in};
use std::fs;

/// The shipped example with `data/benchmarks.csv` replaced by a results table (compute's
/// columns) for some of its peers.
fn example_with_results_as_benchmarks(results: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["schemes", "data"] {
        copy_dir(&manifest_dir().join(sub), &dir.path().join(sub));
    }
    fs::write(dir.path().join("data/benchmarks.csv"), results).unwrap();
    dir
}

#[test]
fn a_pack_compares_its_area_with_peers_computed_by_bcfmon() {
    // Calderdale's ascof-2c KPI (S2AA1, rolling 12 months) is 356.2 per 100,000 in the
    // 12 months to March 2016 (31 admissions over 8,704, the example's own figure). The
    // results table gives, for that window and period: Bradford 444.4 and Kirklees 210.5
    // (peers); Wakefield only a month earlier (not the period compared); St Helens no
    // figure (insufficient coverage); Wigan the monthly window (another window); an area
    // that is no peer; and a local metric of another programme (B03, ignored). Low is good,
    // so the bars read Kirklees, Calderdale, Bradford.
    let h = "area_code,metric,window,period,period_start,period_end,numerator,denominator,value,lower95,upper95,unit,status";
    let results = [
        h,
        "E08000032,ascof-2c,rolling-12-months,2016-03,2015-04-01,2016-03-31,40,9000,444.4,,,per-100000,ok",
        "E08000034,ascof-2c,rolling-12-months,2016-03,2015-04-01,2016-03-31,20,9500,210.5,,,per-100000,ok",
        "E08000036,ascof-2c,rolling-12-months,2016-02,2015-03-01,2016-02-29,10,9000,111.1,,,per-100000,ok",
        "E08000013,ascof-2c,rolling-12-months,2016-03,2015-04-01,2016-03-31,,,,,,per-100000,insufficient-coverage",
        "E08000010,ascof-2c,month,2016-03,2016-03-01,2016-03-31,3,9000,33.3,,,per-100000,ok",
        "E08000099,ascof-2c,rolling-12-months,2016-03,2015-04-01,2016-03-31,1,9000,11.1,,,per-100000,ok",
        "E08000032,local-waiting-list,month,2016-03,2016-03-01,2016-03-31,5,,5,,,count,ok",
    ]
    .join("\n");
    let dir = example_with_results_as_benchmarks(&format!("{results}\n"));
    let out = run_in(
        dir.path(),
        &["report", "--period", "2016-03", "--out", "pack"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = fs::read_to_string(dir.path().join("pack/schemes/S2AA1.html")).unwrap();
    let caption = "<caption>Values 12 months to March 2016: the peers as bcfmon computed them, from data&#x2f;benchmarks.csv, by the same rules as this pack</caption>";
    let from = page
        .find(caption)
        .unwrap_or_else(|| panic!("no caption in {page}"));
    let table = &page[from..from + page[from..].find("</table>").unwrap()];
    let at = |s: &str| table.find(s).unwrap_or_else(|| panic!("no {s} in {table}"));
    let kirklees = at(r#"<th scope="row">Kirklees</th><td class="num">210.5 per 100,000</td>"#);
    let own =
        at(r#"<th scope="row">Calderdale (this pack)</th><td class="num">356.2 per 100,000</td>"#);
    let bradford = at(r#"<th scope="row">Bradford</th><td class="num">444.4 per 100,000</td>"#);
    assert!(kirklees < own && own < bradford);
    for absent in ["Wakefield", "St Helens", "Wigan", "E08000099"] {
        assert!(!table.contains(absent), "{absent}");
    }
    let ledger = fs::read_to_string(dir.path().join("pack/data_quality.csv")).unwrap();
    assert!(
        ledger.contains(
            "data/benchmarks.csv,8,info,B03,metric,local-waiting-list,not a bcfmon metric"
        ),
        "{ledger}"
    );
}
