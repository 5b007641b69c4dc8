//! `bcf-return.xlsx`: the pooled budget laid out as the BCF quarterly return (planned income
//! by partner, planned and actual expenditure by scheme), joint funding, savings, and each
//! KPI's latest status — one sheet per section, £ formats, frozen headers, fixed properties
//! so that a rebuild is byte-identical.

use super::Disclose;
use crate::finance::Statement;
use crate::judge::JudgedRow;
use crate::programme::Programme;
use rust_decimal::Decimal;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet};

const GBP: &str = "£#,##0.00;-£#,##0.00";

fn err(e: rust_xlsxwriter::XlsxError) -> String {
    format!("bcf-return.xlsx: {e}")
}

/// A sheet with a bold, bordered header row frozen in place and sized columns.
fn sheet<'a>(
    wb: &'a mut Workbook,
    name: &str,
    headers: &[(&str, f64)],
) -> Result<&'a mut Worksheet, String> {
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_border_bottom(FormatBorder::Medium);
    let ws = wb.add_worksheet();
    ws.set_name(name).map_err(err)?;
    for (c, (h, width)) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)
            .map_err(err)?;
        ws.set_column_width(c as u16, *width).map_err(err)?;
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    // Printed: A4 landscape, one page wide, the header row on every page.
    ws.set_paper_size(9)
        .set_landscape()
        .set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(0, 0).map_err(err)?;
    Ok(ws)
}

pub(crate) fn workbook(
    programme: &Programme,
    st: &Statement,
    judged: &[JudgedRow],
    disclose: &Disclose<'_>,
) -> Result<Vec<u8>, String> {
    let settings = &programme.settings;
    let money = Format::new().set_num_format(GBP);
    let pct = Format::new().set_num_format("0.0\"%\"");
    let bold = Format::new().set_bold();
    let bold_money = Format::new().set_bold().set_num_format(GBP);
    let mut wb = Workbook::new();
    let when = ExcelDateTime::from_ymd((st.financial_year.0 + 1) as u16, 3, 31).map_err(err)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!(
                "{} — BCF return {}",
                settings.title, st.financial_year
            ))
            .set_author("bcfmon")
            .set_creation_datetime(&when),
    );
    let name_of = |id: &str| {
        settings
            .partners
            .iter()
            .find(|p| p.id == id)
            .map_or(id.to_string(), |p| p.name.clone())
    };

    // Income: each partner's planned contribution to the pool, and what it has spent.
    {
        let ws = sheet(
            &mut wb,
            "Income",
            &[
                ("Partner", 12.0),
                ("Partner name", 44.0),
                ("Planned income", 18.0),
                ("Actual to date", 18.0),
                ("Forecast outturn", 18.0),
                ("Variance", 16.0),
            ],
        )?;
        let mut row = 1u32;
        for (id, t) in &st.by_partner {
            ws.write_string(row, 0, id).map_err(err)?;
            ws.write_string(row, 1, name_of(id)).map_err(err)?;
            for (c, v) in [t.plan, t.actual_to_date, t.forecast_outturn, t.variance]
                .into_iter()
                .enumerate()
            {
                ws.write_with_format(row, 2 + c as u16, v, &money)
                    .map_err(err)?;
            }
            row += 1;
        }
        ws.write_string_with_format(row, 0, "Total", &bold)
            .map_err(err)?;
        let t = &st.total;
        for (c, v) in [t.plan, t.actual_to_date, t.forecast_outturn, t.variance]
            .into_iter()
            .enumerate()
        {
            ws.write_with_format(row, 2 + c as u16, v, &bold_money)
                .map_err(err)?;
        }
    }

    // Expenditure: a line per scheme and partner, then the scheme total.
    {
        let ws = sheet(
            &mut wb,
            "Expenditure",
            &[
                ("Scheme", 10.0),
                ("Scheme name", 44.0),
                ("Scheme type", 30.0),
                ("Partner", 10.0),
                ("Plan", 16.0),
                ("Actual to date", 16.0),
                ("Forecast outturn", 16.0),
                ("Variance", 14.0),
                ("Variance % of plan", 10.0),
                ("Forecast basis", 22.0),
                ("Status", 14.0),
            ],
        )?;
        let mut row = 1u32;
        for s in &st.schemes {
            for l in &s.lines {
                let total = l.partner == "ALL";
                let (m, f) = if total {
                    (&bold_money, &bold)
                } else {
                    (&money, &Format::new())
                };
                ws.write_string_with_format(row, 0, &s.reference, f)
                    .map_err(err)?;
                ws.write_string_with_format(row, 1, &s.name, f)
                    .map_err(err)?;
                ws.write_string_with_format(row, 2, &s.scheme_type, f)
                    .map_err(err)?;
                // The scheme's total line says so, as well as being bold.
                let partner = if total {
                    "Total".to_string()
                } else {
                    name_of(&l.partner)
                };
                ws.write_string_with_format(row, 3, partner, f)
                    .map_err(err)?;
                for (c, v) in [l.plan, l.actual_to_date, l.forecast_outturn, l.variance]
                    .into_iter()
                    .enumerate()
                {
                    ws.write_with_format(row, 4 + c as u16, v, m).map_err(err)?;
                }
                if let Some(p) = l.variance_pct {
                    ws.write_with_format(row, 8, p, &pct).map_err(err)?;
                }
                ws.write_string(row, 9, l.basis.words()).map_err(err)?;
                ws.write_string(
                    row,
                    10,
                    super::finance_status_view(l.status, settings).words,
                )
                .map_err(err)?;
                row += 1;
            }
        }
    }

    // Joint funding agreements.
    let joint: Vec<_> = st
        .schemes
        .iter()
        .filter_map(|s| s.joint.as_ref().map(|j| (s, j)))
        .collect();
    if !joint.is_empty() {
        let ws = sheet(
            &mut wb,
            "Joint funding",
            &[
                ("Scheme", 10.0),
                ("Partner", 10.0),
                ("Share %", 10.0),
                ("Share of actual", 16.0),
                ("Paid to date", 16.0),
                ("Balance due", 16.0),
                ("Share of forecast", 16.0),
                ("People in packages", 12.0),
            ],
        )?;
        let mut row = 1u32;
        for (s, j) in joint {
            for sh in &j.shares {
                ws.write_string(row, 0, &s.reference).map_err(err)?;
                ws.write_string(row, 1, name_of(&sh.partner)).map_err(err)?;
                ws.write_with_format(row, 2, sh.percent, &pct)
                    .map_err(err)?;
                for (c, v) in [
                    sh.share_of_actual,
                    sh.paid,
                    sh.balance,
                    sh.share_of_forecast,
                ]
                .into_iter()
                .enumerate()
                {
                    ws.write_with_format(row, 3 + c as u16, v, &money)
                        .map_err(err)?;
                }
                if let Some(p) = j.people {
                    ws.write_number(row, 7, p).map_err(err)?;
                }
                row += 1;
            }
        }
    }

    // Savings against target.
    let savings: Vec<_> = st
        .schemes
        .iter()
        .filter_map(|s| s.savings.as_ref().map(|v| (s, v)))
        .collect();
    if !savings.is_empty() {
        let ws = sheet(
            &mut wb,
            "Savings",
            &[
                ("Scheme", 10.0),
                ("In-year target", 16.0),
                ("Achieved to date", 16.0),
                ("Forecast in year", 16.0),
                ("Full year effect target", 16.0),
                ("Full year effect forecast", 16.0),
            ],
        )?;
        for (k, (s, v)) in savings.iter().enumerate() {
            let row = 1 + k as u32;
            ws.write_string(row, 0, &s.reference).map_err(err)?;
            let cells: [Option<Decimal>; 5] = [
                v.target,
                Some(v.achieved_to_date),
                Some(v.forecast_in_year),
                v.full_year_effect_target,
                Some(v.full_year_effect_forecast),
            ];
            for (c, x) in cells.into_iter().enumerate() {
                if let Some(x) = x {
                    ws.write_with_format(row, 1 + c as u16, x, &money)
                        .map_err(err)?;
                }
            }
        }
    }

    // Each KPI's latest judged row.
    {
        let ws = sheet(
            &mut wb,
            "Metrics",
            &[
                ("Scheme", 10.0),
                ("KPI", 48.0),
                ("Period", 22.0),
                ("Value", 12.0),
                ("Target", 12.0),
                ("Unit", 14.0),
                ("Status", 26.0),
                ("Variation", 34.0),
                ("Assurance", 34.0),
            ],
        )?;
        let mut row = 1u32;
        for scheme in &programme.schemes {
            for kpi in &scheme.kpis {
                // The latest period with a figure, as on the KPI's card.
                let series = super::kpi_series(judged, scheme, kpi);
                let Some(j) = super::latest(&series) else {
                    continue;
                };
                ws.write_string(row, 0, &scheme.reference).map_err(err)?;
                ws.write_string(row, 1, super::kpi_label(kpi))
                    .map_err(err)?;
                ws.write_string(row, 2, super::period_words_row(&j.row))
                    .map_err(err)?;
                let value = if disclose.row(&j.row) {
                    settings.disclosure.marker.clone()
                } else {
                    j.row.value.clone().unwrap_or_default()
                };
                match value.parse::<f64>() {
                    Ok(v) => ws.write_number(row, 3, v).map(|_| ()),
                    Err(_) => ws.write_string(row, 3, &value).map(|_| ()),
                }
                .map_err(err)?;
                if let Some(t) = j.target {
                    ws.write_number(row, 4, t).map_err(err)?;
                }
                let unit = match j.row.unit {
                    crate::catalogue::Unit::Percent => "percent",
                    crate::catalogue::Unit::Per100k => "per 100,000",
                    crate::catalogue::Unit::Days => "days",
                    crate::catalogue::Unit::Count => "count",
                };
                ws.write_string(row, 5, unit).map_err(err)?;
                ws.write_string(
                    row,
                    6,
                    j.status.map_or(settings.wording.no_data.as_str(), |s| {
                        s.words(&settings.wording)
                    }),
                )
                .map_err(err)?;
                ws.write_string(
                    row,
                    7,
                    j.variation
                        .map_or("Not judged", crate::judge::variation_words),
                )
                .map_err(err)?;
                ws.write_string(row, 8, crate::judge::assurance_words(j.assurance))
                    .map_err(err)?;
                row += 1;
            }
        }
    }
    // Every column as wide as its longest cell (up to about 90 characters), so no text is cut
    // off by the next cell.
    for ws in wb.worksheets_mut() {
        ws.set_autofit_max_width(640).autofit();
    }
    wb.save_to_buffer().map_err(err)
}
