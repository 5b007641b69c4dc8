//! The two ASCOF methods: bcfmon's monitoring method and DHSC's published one, and the rules
//! D1–D9 that divide them (metrics.md §16). Each rule is a switch the engine reads on its own,
//! so a figure can be computed with any one of them to explain the gap between the methods.

use crate::period::vocabulary;

vocabulary! {
    /// How the ASCOF metrics (2a, 2b, 2c, 2e, 2e-ld, 3d) are computed: `bcfmon` for monthly
    /// monitoring (never looks past the window end), `dhsc` as DHSC's published code does
    /// (metrics.md §16). Every other metric is the same under both.
    pub(crate) Method {
        Bcfmon = "bcfmon",
        Dhsc = "dhsc",
    }
}

impl Method {
    /// How the pack names the method beside a figure.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Method::Bcfmon => "bcfmon monitoring method",
            Method::Dhsc => "DHSC published method",
        }
    }

    /// The rules a method applies.
    pub(crate) fn rules(self) -> Rules {
        match self {
            Method::Bcfmon => Rules::NONE,
            Method::Dhsc => Rules::ALL,
        }
    }
}

vocabulary! {
    /// One difference between the methods: what `dhsc` does that `bcfmon` does not. The
    /// DHSC sources are files of `DataS-DHSC/ASC-CLD-LA-Dashboard` at snapshot 9bee728.
    pub(crate) Rule {
        D1 = "D1",
        D2 = "D2",
        D3 = "D3",
        D4 = "D4",
        D5 = "D5",
        D6 = "D6",
        D7 = "D7",
        D8 = "D8",
        D9 = "D9",
    }
}

/// Every rule, in order.
pub(crate) const RULES: [Rule; 9] = [
    Rule::D1,
    Rule::D2,
    Rule::D3,
    Rule::D4,
    Rule::D5,
    Rule::D6,
    Rule::D7,
    Rule::D8,
    Rule::D9,
];

/// The rules that act on the rows before any metric reads them.
const ROW_RULES: [Rule; 4] = [Rule::D2, Rule::D4, Rule::D5, Rule::D9];

impl Rule {
    /// What the rule does under `dhsc`, in a sentence (the README's table says the same).
    pub(crate) fn about(self) -> &'static str {
        match self {
            Rule::D1 => "ascof-2e: accommodation status and primary support reason taken from the whole extract, not as at the window end",
            Rule::D2 => "a service's derived end uses the row's own date of death, not the person's latest",
            Rule::D3 => "any row with a Service_Type counts as a service for the ascof-2a new-client test and sequel service and the ascof-3d client cohort",
            Rule::D4 => "requests, assessments and reviews kept only if they end within the extract's coverage; services that ended before it, and rows starting after it, dropped",
            Rule::D5 => "near-duplicate events collapsed into DHSC's unique events",
            Rule::D6 => "ascof-2b/2c: a care home row with an empty Service_Component is dropped",
            Rule::D7 => "ascof-3d carers: a direct-support row with an empty Service_Component takes no budget category",
            Rule::D8 => "a zero denominator gives the value 0.0",
            Rule::D9 => "a row whose own date of death is before the extract's coverage is dropped",
        }
    }

    /// The DHSC file (and lines) the rule follows.
    pub(crate) fn source(self) -> &'static str {
        match self {
            Rule::D1 => "ASCOF_measures/Create_personal_details_table.sql, joined by Create_ASCOF_2E_2425_Onwards.sql",
            Rule::D2 | Rule::D4 | Rule::D9 => "Stored_procedures/create_FilterToEventsInPeriod_procedure.sql",
            Rule::D3 => "ASCOF_measures/Create_ASCOF_2A_2425_Onwards.sql (new client, sequel service); Create_ASCOF_3D_2425_Onwards.sql (clients)",
            Rule::D5 => "Stored_procedures/create_GetDerivedFields_procedure.sql (unique event reference), create_GetUniqueEvents_procedure.sql ('Joined')",
            Rule::D6 => "ASCOF_measures/Create_ASCOF_2B2C_2425_Onwards.sql (component NOT LIKE '%Short%')",
            Rule::D7 => "ASCOF_measures/Create_ASCOF_3D_2425_Onwards.sql (carers' Support_Provided CASE)",
            Rule::D8 => "the ASCOF output tables (COALESCE of the percentage)",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of rules: none under `bcfmon`, all under `dhsc`, or one alone when the gap between
/// the methods is explained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Rules(u16);

impl Rules {
    /// bcfmon's method.
    pub(crate) const NONE: Rules = Rules(0);
    /// DHSC's method.
    pub(crate) const ALL: Rules = Rules((1 << RULES.len()) - 1);

    /// One rule alone.
    pub(crate) fn only(rule: Rule) -> Rules {
        Rules(rule.bit())
    }

    /// Whether the rule applies.
    pub(crate) fn has(self, rule: Rule) -> bool {
        self.0 & rule.bit() != 0
    }

    /// The rules that change which rows there are, or their derived end (D2, D4, D5, D9):
    /// the events grouped by person are made once for each such set.
    pub(crate) fn on_rows(self) -> Rules {
        Rules(self.0 & ROW_RULES.iter().fold(0, |m, r| m | r.bit()))
    }

    /// The set of row rules as a number below 16, for a table of the events grouped by
    /// person under each.
    pub(crate) fn row_set(self) -> usize {
        ROW_RULES
            .iter()
            .enumerate()
            .filter(|(_, r)| self.has(**r))
            .fold(0, |m, (i, _)| m | (1 << i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_methods_are_no_rule_and_every_rule() {
        assert!(RULES.iter().all(|r| Method::Dhsc.rules().has(*r)));
        assert!(RULES.iter().all(|r| !Method::Bcfmon.rules().has(*r)));
        let d5 = Rules::only(Rule::D5);
        assert!(d5.has(Rule::D5) && !d5.has(Rule::D4));
        assert_eq!(Rules::only(Rule::D6).on_rows(), Rules::NONE);
        assert_eq!(Rules::ALL.on_rows().0.count_ones(), 4);
        assert_eq!(Rules::ALL.row_set(), 15);
        assert_eq!(Rules::NONE.row_set(), 0);
    }
}
