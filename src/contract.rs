//! The input data contract as data: every extract's name and columns with their types
//! (data-contract.md). `check` resolves local-metric SQL against these schemas without
//! reading any file; the extract loader checks real headers against them.

/// The type of a column, as data-contract.md states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Text,
    Code,
    Date,
    Int,
    Dec,
}

/// Whether a missing column refuses the file, affects some metrics, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Core-required: the file is refused without it (F02).
    Core,
    /// Core-required as one of alternatives (e.g. birth year/month or date of birth).
    Alternative,
    /// Needed by some metrics only.
    Metric,
    Optional,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub need: Need,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Extract {
    pub name: &'static str,
    #[allow(dead_code)] // where data-contract.md defines the extract, for a reader of this table
    pub section: &'static str,
    /// The column naming each row's area, if the extract has one (finance has none).
    pub area: Option<&'static str>,
    /// The date columns whose range is the extract's coverage when programme.toml sets none
    /// [ours]: from the earliest of the first column to the latest of any (events take
    /// their reporting period instead).
    pub coverage: &'static [&'static str],
    pub columns: &'static [Column],
}

const fn c(name: &'static str, ty: ColumnType, need: Need) -> Column {
    Column { name, ty, need }
}

use ColumnType::*;
use Need::*;

pub(crate) const EXTRACTS: &[Extract] = &[
    Extract {
        name: "events",
        section: "data-contract.md §1",
        area: Some("LA_Code"),
        coverage: &[],
        columns: &[
            c("LA_Code", Text, Core),
            c("LA_Name", Text, Optional),
            c("Reporting_Period_Start_Date", Date, Optional),
            c("Reporting_Period_End_Date", Date, Optional),
            c("NHS_Number", Text, Optional),
            c("LA_Person_Unique_Identifier", Text, Core),
            c("Der_Birth_Year", Int, Alternative),
            c("Der_Birth_Month", Int, Alternative),
            c("Date_of_Birth", Date, Alternative),
            c("Date_of_Death", Date, Core),
            c("Gender", Text, Optional),
            c("Ethnicity", Code, Optional),
            c("Client_Type", Code, Core),
            c("Primary_Support_Reason", Code, Metric),
            c("Accommodation_Status", Code, Metric),
            c("Employment_Status", Code, Optional),
            c("Has_Unpaid_Carer", Text, Optional),
            c("Client_Funding_Status", Code, Optional),
            c("Event_Type", Code, Core),
            c("Event_Reference", Text, Optional),
            c("Event_Start_Date", Date, Core),
            c("Event_End_Date", Date, Core),
            c("Event_Outcome", Code, Core),
            c("Request_Route_of_Access", Code, Optional),
            c("Assessment_Type", Code, Optional),
            c("Eligible_Needs_Identified", Text, Optional),
            c("Method_of_Assessment", Text, Optional),
            c("Total_Hrs_Caring_per_week", Text, Optional),
            c("No_of_adults_being_cared_for", Text, Optional),
            c("Adult_1_Linked_Person_ID", Text, Optional),
            c("Adult_2_Linked_Person_ID", Text, Optional),
            c("Adult_3_Linked_Person_ID", Text, Optional),
            c("Service_Type", Code, Core),
            c("Service_Component", Code, Metric),
            c("Delivery_Mechanism", Code, Metric),
            c("Provider_CQC_Location_ID", Text, Optional),
            c("Review_Reason", Code, Metric),
            c("Review_Outcomes_Achieved", Text, Optional),
            c("Method_of_Review", Text, Optional),
            c("Unit_Cost", Dec, Optional),
            c("Cost_Frequency_Unit_Type", Code, Optional),
            c("Planned_units_per_week", Dec, Optional),
        ],
    },
    Extract {
        name: "population",
        section: "data-contract.md §2",
        area: Some("Area_Code"),
        coverage: &[],
        columns: &[
            c("Area_Code", Text, Core),
            c("Area_Name", Text, Optional),
            c("Year", Int, Core),
            c("Sex", Code, Optional),
            c("Age", Code, Core),
            c("Count", Int, Core),
        ],
    },
    Extract {
        name: "discharges",
        section: "data-contract.md §3",
        area: Some("LA_Code"),
        coverage: &["Admission_Date", "Discharge_Date"],
        columns: &[
            c("Spell_ID", Text, Core),
            c("Person_ID", Text, Metric),
            c("LA_Code", Text, Core),
            c("Der_Birth_Year", Int, Alternative),
            c("Der_Birth_Month", Int, Alternative),
            c("Age_at_Admission", Int, Alternative),
            c("Admission_Date", Date, Core),
            c("Discharge_Date", Date, Core),
            c("Admission_Method", Code, Core),
            c("Discharge_Method", Code, Core),
            c("Discharge_Destination", Code, Core),
            c("Discharge_Ready_Date", Date, Metric),
            c("Treatment_Function_Code", Code, Optional),
            c("Date_of_Death", Date, Optional),
        ],
    },
    Extract {
        name: "safeguarding",
        section: "data-contract.md §4",
        area: Some("LA_Code"),
        coverage: &[
            "Concern_Received_Date",
            "Decision_Date",
            "Enquiry_Concluded_Date",
        ],
        columns: &[
            c("LA_Code", Text, Core),
            c("Concern_ID", Text, Core),
            c("Person_ID", Text, Optional),
            c("Concern_Received_Date", Date, Core),
            c("Decision_Date", Date, Core),
            c("Decision", Code, Core),
            c("Enquiry_Concluded_Date", Date, Core),
            c("Outcome", Code, Optional),
        ],
    },
    Extract {
        name: "finance",
        section: "data-contract.md §5",
        area: None,
        coverage: &[],
        columns: &[
            c("Scheme_Ref", Text, Core),
            c("Month", Text, Core),
            c("Partner", Text, Core),
            c("Amount", Dec, Core),
            c("Funding_Stream", Text, Optional),
            c("Note", Text, Optional),
        ],
    },
    Extract {
        name: "benchmarks",
        section: "data-contract.md §6",
        area: Some("Area_Code"),
        coverage: &[],
        columns: &[
            c("Area_Code", Text, Core),
            c("Area_Name", Text, Core),
            c("Geography_Level", Code, Optional),
            c("Period", Text, Core),
            c("Measure_Code", Text, Core),
            c("Breakdown", Text, Optional),
            c("Numerator", Int, Optional),
            c("Denominator", Int, Optional),
            c("Value", Text, Core),
            c("Source", Text, Optional),
        ],
    },
    Extract {
        name: "chc",
        section: "data-contract.md §7",
        area: Some("Area_Code"),
        coverage: &["Referral_Date", "Decision_Date", "Withdrawn_Date"],
        columns: &[
            c("Area_Code", Text, Core),
            c("Referral_ID", Text, Core),
            c("Referral_Date", Date, Core),
            c("Deferred", Code, Optional),
            c("Decision_Date", Date, Core),
            c("Withdrawn_Date", Date, Core),
            c("Decision", Code, Optional),
        ],
    },
];

/// The finance extract's `Funding_Stream` that records savings achieved rather than spend
/// (data-contract.md §5).
pub(crate) const SAVINGS_STREAM: &str = "Savings";

/// The order in which the extracts' problems are listed in the ledger (and so in
/// data_quality.csv and `check`) [ours].
pub(crate) const LEDGER_ORDER: [&str; 7] = [
    "safeguarding",
    "chc",
    "discharges",
    "population",
    "benchmarks",
    "finance",
    "events",
];

/// The `benchmarks` extract given as a bcfmon results table (compute's CSV or Parquet for
/// many areas; data-contract.md §6, issue 17): recognised by its header, so that a council's
/// pack compares it with its peers computed by bcfmon's own rules. Its columns are compute's
/// (`metrics::COLUMNS`, which a test keeps equal to these).
pub(crate) const BENCHMARK_RESULTS: Extract = Extract {
    name: "benchmarks",
    section: "data-contract.md §6 (a bcfmon results table)",
    area: Some("area_code"),
    coverage: &[],
    columns: &[
        c("area_code", Text, Core),
        c("metric", Text, Core),
        c("window", Code, Core),
        c("period", Text, Optional),
        c("period_start", Date, Optional),
        c("period_end", Date, Core),
        c("numerator", Int, Optional),
        c("denominator", Int, Optional),
        c("value", Text, Core),
        c("lower95", Dec, Optional),
        c("upper95", Dec, Optional),
        c("unit", Code, Optional),
        c("status", Code, Core),
    ],
};

/// The column naming each row's area in an extract (`LA_Code` unless the contract says).
pub(crate) fn area_column(name: &str) -> &'static str {
    extract(name).and_then(|e| e.area).unwrap_or("LA_Code")
}

/// An extract's header as the contract orders it, leaving out `omit` (columns a writer does
/// not fill; each must be a column of the extract).
pub(crate) fn header_without(name: &str, omit: &[&str]) -> Vec<&'static str> {
    let e = extract(name).unwrap_or_else(|| panic!("`{name}` is not an extract"));
    for o in omit {
        assert!(e.column(o).is_some(), "`{o}` is not a column of {name}");
    }
    e.columns
        .iter()
        .map(|c| c.name)
        .filter(|n| !omit.contains(n))
        .collect()
}

pub(crate) fn extract(name: &str) -> Option<&'static Extract> {
    EXTRACTS.iter().find(|e| e.name == name)
}

pub(crate) fn extract_names() -> Vec<&'static str> {
    EXTRACTS.iter().map(|e| e.name).collect()
}

impl Extract {
    pub(crate) fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}
