//! The closed value lists of the `events` extract (data-contract.md §1.5, Release 2
//! spellings) and the unambiguous Release 1 spellings bcfmon maps onto them (§1.5.15).

pub(crate) const INVALID: &str = "Invalid and not mapped";

pub(crate) const EVENT_TYPE: &[&str] = &["Request", "Assessment", "Service", "Review"];

pub(crate) const CLIENT_TYPE: &[&str] = &[
    "Service user",
    "Unpaid carer",
    "Unpaid carer known by association",
];

pub(crate) const SERVICE_TYPE: &[&str] = &[
    "Long term support: Nursing care",
    "Long term support: Residential care",
    "Long term support: Community",
    "Long term support: Prison",
    "Short term support: ST-Max",
    "Short term support: Ongoing low level",
    "Short term support: Other short term",
    "Unpaid carer support: Direct to unpaid carer",
    "Unpaid carer support: Support involving the person cared-for",
];

/// The four long-term support types (data-contract.md §1.5.3), the first four service types.
pub(crate) const LONG_TERM_SUPPORT: &[&str] = SERVICE_TYPE.split_at(4).0;

pub(crate) const EVENT_OUTCOME: &[&str] = &[
    "Progress to reablement/ST-Max",
    "Progress to assessment, review or reassessment",
    "Progress to support planning or services",
    "Continuation of support or services",
    "Admitted to hospital",
    "NFA: Responsibility moved to another local authority",
    "NFA: Referral to NHS services or NHS funded social care",
    "NFA: Self-funded client or under 12wk disregard",
    "NFA: Information and advice or signposting",
    "NFA: Referral to other service within the local authority",
    "NFA: Support declined",
    "NFA: Deceased",
    "NFA: Support ended as planned",
    "NFA: Support ended for other reason",
    "NFA: No services offered for other reason",
    "NFA: Other",
];

pub(crate) const ACCOMMODATION_STATUS: &[&str] = &[
    "Owner occupier or shared ownership scheme",
    "Tenant: Local authority or other social housing provider",
    "Tenant: Private landlord",
    "Settled mainstream housing with family or friends",
    "Supported accommodation, supported lodgings or supported group home",
    "Shared Lives scheme",
    "Approved premises for offenders released from prison or under probation supervision",
    "Sheltered housing, extra care housing or other sheltered housing",
    "Mobile accommodation for Gypsy, Roma and Traveller communities",
    "Rough sleeper or squatting",
    "Night shelter, emergency hostel or direct access hostel",
    "Refuge",
    "Placed in temporary accommodation by the council (inc. homelessness resettlement)",
    "Staying with family or friends as a short term guest",
    "Acute hospital or long term healthcare residential facility",
    "Registered care home",
    "Registered nursing home",
    "Prison, young offenders institution or detention centre",
    "Other temporary accommodation",
    "Unknown",
];

/// The accommodation statuses of the settled group (data-contract.md §1.5.6, marked S): the
/// first nine of the list.
pub(crate) const SETTLED_ACCOMMODATION: &[&str] = ACCOMMODATION_STATUS.split_at(9).0;

pub(crate) const EMPLOYMENT_STATUS: &[&str] = &[
    "Paid: Less than 16 hours a week",
    "Paid: 16 or more hours a week",
    "Paid: Hours per week unknown",
    "Not in paid employment: Seeking work",
    "Not in paid employment: Voluntary work only",
    "Not in paid employment: Not actively seeking work or retired",
    "Unknown",
];

pub(crate) const ETHNICITY: &[&str] = &[
    "White: English, Welsh, Scottish, Northern Irish or British",
    "White: Irish",
    "White: Gypsy or Irish Traveller",
    "White: Roma",
    "White: Any other White background",
    "Mixed or multiple ethnic groups: White and Black Caribbean",
    "Mixed or multiple ethnic groups: White and Black African",
    "Mixed or multiple ethnic groups: White and Asian",
    "Mixed or multiple ethnic groups: Any other Mixed or multiple ethnic background",
    "Asian or Asian British: Indian",
    "Asian or Asian British: Pakistani",
    "Asian or Asian British: Bangladeshi",
    "Asian or Asian British: Chinese",
    "Asian or Asian British: Any other Asian background",
    "Black, Black British, Caribbean or African: African",
    "Black, Black British, Caribbean or African: Caribbean",
    "Black, Black British, Caribbean or African: Any other Black, Black British or Caribbean background",
    "Other ethnic group: Arab",
    "Other ethnic group: Any other ethnic group",
    "No data: Refused",
    "No data: Undeclared or not known",
];

pub(crate) const CLIENT_FUNDING_STATUS: &[&str] = &[
    "Fully social care funded",
    "Joint client and social care funded",
    "Fully client funded",
    "Unknown",
];

pub(crate) const DELIVERY_MECHANISM: &[&str] = &[
    "Direct payment",
    "CASSR managed personal budget",
    "CASSR commissioned support",
];

/// Release 1 spellings mapped onto Release 2 (§1.5.15), compared case-insensitively.
pub(crate) const RELEASE_1: &[(&str, &str)] = &[
    ("Carer", "Unpaid carer"),
    (
        "Carer known by association",
        "Unpaid carer known by association",
    ),
    (
        "Carer Support: Direct to Carer",
        "Unpaid carer support: Direct to unpaid carer",
    ),
    (
        "Carer Support: Support involving the person cared-for",
        "Unpaid carer support: Support involving the person cared-for",
    ),
    ("NFA - Deceased", "NFA: Deceased"),
    ("NFA - Support declined", "NFA: Support declined"),
    (
        "NFA - Moved to another LA",
        "NFA: Responsibility moved to another local authority",
    ),
    (
        "NFA - Self-funded client (Inc. 12wk disregard)",
        "NFA: Self-funded client or under 12wk disregard",
    ),
    (
        "NFA - Information & Advice / Signposting only",
        "NFA: Information and advice or signposting",
    ),
    (
        "NFA - No services offered: Other reason",
        "NFA: No services offered for other reason",
    ),
    (
        "NFA - Support ended: Other reason",
        "NFA: Support ended for other reason",
    ),
    ("NFA- Other", "NFA: Other"),
    ("NFA - Other", "NFA: Other"),
    ("Service ended as planned", "NFA: Support ended as planned"),
    (
        "Progress to Support Planning / Services",
        "Progress to support planning or services",
    ),
];

/// Reads a closed-list value: the canonical Release 2 spelling (Release 1 mapped), or
/// `None` for an unrecognised value (W01 → `Invalid and not mapped`).
pub(crate) fn closed(value: &str, list: &[&'static str]) -> Option<&'static str> {
    let v = super::values::code(value);
    if let Some(c) = list.iter().find(|c| c.eq_ignore_ascii_case(&v)) {
        return Some(c);
    }
    RELEASE_1
        .iter()
        .find(|(r1, r2)| r1.eq_ignore_ascii_case(&v) && list.contains(r2))
        .map(|(_, r2)| *r2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_groups_are_the_contracts() {
        // §1.5.3: the four LTS types; §1.5.6: the nine statuses marked S, ending with
        // mobile accommodation, before "Rough sleeper or squatting".
        assert!(LONG_TERM_SUPPORT
            .iter()
            .all(|t| t.starts_with("Long term support: ")));
        assert_eq!(LONG_TERM_SUPPORT.len(), 4);
        assert_eq!(SETTLED_ACCOMMODATION.len(), 9);
        assert_eq!(
            SETTLED_ACCOMMODATION.last(),
            Some(&"Mobile accommodation for Gypsy, Roma and Traveller communities")
        );
        assert_eq!(ACCOMMODATION_STATUS[9], "Rough sleeper or squatting");
    }

    #[test]
    fn release_1_and_case_map_to_release_2() {
        assert_eq!(
            closed("Long Term Support: Community", SERVICE_TYPE),
            Some("Long term support: Community")
        );
        assert_eq!(closed("Carer", CLIENT_TYPE), Some("Unpaid carer"));
        assert_eq!(closed("NFA- Other", EVENT_OUTCOME), Some("NFA: Other"));
        assert_eq!(
            closed("  NFA   -  Deceased ", EVENT_OUTCOME),
            Some("NFA: Deceased")
        );
        assert_eq!(
            closed("Carer", EVENT_OUTCOME),
            None,
            "a Release 1 value only maps within its own list"
        );
        assert_eq!(closed("Long term support: Palace", SERVICE_TYPE), None);
    }
}
