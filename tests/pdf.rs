//! pack.pdf (issue 15): the whole pack in one tagged A4 PDF, read back with a PDF library.

use super::*;

/// The example's March 2016 pack, built into a fresh folder; its PDF's bytes.
fn example_pdf(out: &Path) -> Vec<u8> {
    let run = run_in(
        &manifest_dir(),
        &[
            "report",
            "--period",
            "2016-03",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    fs::read(out.join("pack.pdf")).expect("pack.pdf in the pack")
}

/// Text with every run of white space as one space (a table cell wraps its words).
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn pack_pdf_holds_every_scheme_kpi_and_figure() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = example_pdf(&dir.path().join("pack"));
    let text = flat(&pdf_extract::extract_text_from_mem(&bytes).expect("the PDF's text"));
    // Every scheme's name and every KPI's label, as the scheme files write them.
    let mut labels = 0;
    for entry in fs::read_dir(manifest_dir().join("schemes")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "programme.toml" {
            continue;
        }
        let scheme: toml::Value = toml::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let name = scheme["name"].as_str().unwrap();
        assert!(text.contains(&flat(name)), "{name} not in the PDF");
        for kpi in scheme["kpi"].as_array().unwrap() {
            let label = kpi["label"].as_str().unwrap();
            assert!(text.contains(&flat(label)), "{label} not in the PDF");
            labels += 1;
        }
    }
    assert_eq!(labels, 20);
    // The data behind S2AA1's ASCOF 2C chart: every figure of the KPI in metrics.csv (the
    // 12 months to each month end), as the pack's table prints it.
    let metrics = parse_csv(&fs::read_to_string(dir.path().join("pack/metrics.csv")).unwrap());
    let col = |name: &str| metrics[0].iter().position(|h| h == name).unwrap();
    let mut figures = 0;
    for r in metrics.iter().skip(1) {
        if r[col("scheme")] == "S2AA1"
            && r[col("metric")] == "ascof-2c"
            && !r[col("value")].is_empty()
        {
            let v: f64 = r[col("value")].parse().unwrap();
            let shown = format!("{v:.1} per 100,000");
            assert!(text.contains(&shown), "{shown} not in the PDF");
            figures += 1;
        }
    }
    assert!(figures >= 12, "{figures}");
    // The sections, the glossary and the footer of every page.
    for s in [
        "Programme position",
        "Every KPI at a glance",
        "Changes since February 2016",
        "Exceptions",
        "Pooled budget 2015-16",
        "Definitions",
        "Data quality",
        "Common cause variation — The ordinary rise and fall",
        "Calderdale · March 2016 · data as at 31 March 2016",
    ] {
        assert!(text.contains(s), "{s} not in the PDF");
    }
}

#[test]
fn pack_pdf_is_tagged_a4_with_fonts_language_and_title_and_rebuilds_identically() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = example_pdf(&dir.path().join("a"));
    let again = example_pdf(&dir.path().join("b"));
    assert!(bytes == again, "a rebuild of pack.pdf differs");
    let doc = lopdf::Document::load_mem(&bytes).expect("a readable PDF");
    let catalog = doc.catalog().unwrap();
    // Tagged: marked content and a structure tree (PDF/UA-1 asks both).
    let marked = catalog
        .get_deref(b"MarkInfo", &doc)
        .and_then(|m| m.as_dict())
        .and_then(|m| m.get(b"Marked"))
        .and_then(|m| m.as_bool())
        .unwrap();
    assert!(marked);
    assert!(catalog.get(b"StructTreeRoot").is_ok());
    // Bookmarks: an outline from the headings.
    assert!(catalog.get(b"Outlines").is_ok());
    assert_eq!(catalog.get(b"Lang").unwrap().as_str().unwrap(), b"en-GB");
    // The title is shown as the window title, and the XMP metadata claims PDF/UA-1.
    let prefs = catalog
        .get_deref(b"ViewerPreferences", &doc)
        .and_then(|p| p.as_dict())
        .unwrap();
    assert!(prefs.get(b"DisplayDocTitle").unwrap().as_bool().unwrap());
    let raw = String::from_utf8_lossy(&bytes);
    assert!(raw.contains("pdfuaid:part>1<") || raw.contains("pdfuaid:part=\"1\""));
    assert!(raw.contains("Calderdale Better Care Fund: programme board pack — March 2016"));
    // A4, portrait or landscape (595.28 × 841.89 pt).
    let mut pages = 0;
    for (_, id) in doc.get_pages() {
        let page = doc.get_dictionary(id).unwrap();
        let media = page.get(b"MediaBox").unwrap().as_array().unwrap();
        let n: Vec<f32> = media.iter().map(|x| x.as_float().unwrap()).collect();
        let (w, h) = (n[2] - n[0], n[3] - n[1]);
        let a4 = |a: f32, b: f32| (a - 595.28).abs() < 0.5 && (b - 841.89).abs() < 0.5;
        assert!(a4(w, h) || a4(h, w), "page {w} × {h} is not A4");
        pages += 1;
    }
    assert!(pages > 20, "{pages} pages");
    // Every font is embedded.
    let mut fonts = 0;
    for (_, object) in doc.objects.iter() {
        if let Ok(d) = object.as_dict() {
            if d.get(b"Type").and_then(|t| t.as_name()).ok() == Some(b"FontDescriptor") {
                fonts += 1;
                assert!(
                    d.has(b"FontFile") || d.has(b"FontFile2") || d.has(b"FontFile3"),
                    "a font is not embedded"
                );
            }
        }
    }
    assert!(fonts > 0);
}
