//! Local metrics: SQL conditions from scheme files, parsed with polars' SQL expression
//! parser and resolved against an extract's schema (data-contract.md) without reading data.

use crate::contract::{ColumnType, Extract};
use polars::prelude::*;

fn dtype(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Date => DataType::Date,
        ColumnType::Int => DataType::Int64,
        ColumnType::Dec => DataType::Float64,
        ColumnType::Text | ColumnType::Code => DataType::String,
    }
}

/// The extract's columns as a polars schema, with the types the loader gives them.
pub(crate) fn schema(extract: &Extract) -> Schema {
    extract
        .columns
        .iter()
        .map(|c| Field::new(c.name.into(), dtype(c.ty)))
        .collect()
}

/// Parses an SQL condition into a polars expression.
pub(crate) fn parse_condition(sql: &str) -> Result<Expr, String> {
    polars::sql::sql_expr(sql)
        .map_err(|e| format!("is not valid SQL: {}", first_line(&e.to_string())))
}

/// Checks that `sql` parses, names only columns `extract` has, and is a true/false condition.
pub(crate) fn check_condition(sql: &str, extract: &Extract) -> Result<(), String> {
    let expr = parse_condition(sql)?;
    let frame = DataFrame::empty_with_schema(&schema(extract));
    let resolved = frame
        .lazy()
        .select([expr.alias("condition")])
        .collect_schema();
    match resolved {
        Ok(s) => match s.get("condition") {
            Some(DataType::Boolean) => Ok(()),
            Some(other) => Err(format!(
                "must be a true/false condition, but it gives a {other} value"
            )),
            None => Err("could not be resolved".into()),
        },
        Err(e) => {
            let text = e.to_string();
            // polars wraps a missing column in context; find the name it quotes.
            let missing = text
                .split("unable to find column \"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .or_else(|| match &e {
                    PolarsError::ColumnNotFound(m) => Some(m.as_ref()),
                    _ => None,
                });
            match missing {
                Some(name) => {
                    let names: Vec<&str> = extract.columns.iter().map(|c| c.name).collect();
                    let mut msg = format!(
                        "names a column that `{}` does not have: `{name}`",
                        extract.name
                    );
                    if let Some(n) = crate::diag::nearest(name, names.iter().copied()) {
                        msg.push_str(&format!(" (did you mean `{n}`?)"));
                    }
                    Err(msg)
                }
                None => Err(format!(
                    "cannot be applied to `{}`: {}",
                    extract.name,
                    first_line(&text)
                )),
            }
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::extract;

    #[test]
    fn accepts_the_design_example() {
        let sg = extract("safeguarding").unwrap();
        assert_eq!(
            check_condition("Enquiry_Concluded_Date IS NOT NULL", sg),
            Ok(())
        );
        assert_eq!(
            check_condition(
                "Enquiry_Concluded_Date - Decision_Date <= INTERVAL '49 days'",
                sg
            ),
            Ok(())
        );
    }

    #[test]
    fn refuses_bad_sql_unknown_columns_and_non_conditions() {
        let sg = extract("safeguarding").unwrap();
        assert!(check_condition("Decision_Date >", sg)
            .unwrap_err()
            .starts_with("is not valid SQL"));
        let e = check_condition("Decison_Date IS NULL", sg).unwrap_err();
        assert!(
            e.contains("Decison_Date") && e.contains("did you mean `Decision_Date`"),
            "{e}"
        );
        assert!(check_condition("Concern_ID", sg)
            .unwrap_err()
            .contains("true/false"));
    }
}
