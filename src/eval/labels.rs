//! Ground-truth labels and the CSV they come in:
//! `account_id,archetype,violating`. Any archetype name is accepted (a T&S
//! team's own classes as well as the scenario generator's); the `violating`
//! column decides which side of the line an account is on.

use std::io::BufRead;

use anyhow::{bail, Context, Result};

/// The ground truth for one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The account id, as events carry it.
    pub account_id: String,
    /// The class the labeller put it in (rows of the scorecard).
    pub archetype: String,
    /// Whether it distributes a general-purpose assistant.
    pub violating: bool,
}

/// Longest archetype name accepted (a label file is input).
const MAX_ARCHETYPE_BYTES: usize = 64;

/// Parses labels; errors name the line.
pub fn read_labels_csv<R: BufRead>(input: R, file: &str) -> Result<Vec<Label>> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = line.with_context(|| format!("{file}:{n}: unreadable"))?;
        let line = line.trim();
        if line.is_empty() || (n == 1 && line.starts_with("account_id")) {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let [account_id, archetype, violating] = cols.as_slice() else {
            bail!(
                "{file}:{n}: expected 3 columns `account_id,archetype,violating`, got {}",
                cols.len()
            );
        };
        if account_id.is_empty() {
            bail!("{file}:{n}: empty account_id");
        }
        if archetype.is_empty()
            || archetype.len() > MAX_ARCHETYPE_BYTES
            || archetype
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            bail!(
                "{file}:{n}: archetype must be 1 to {MAX_ARCHETYPE_BYTES} bytes without spaces or control characters"
            );
        }
        let violating = match *violating {
            "true" | "1" => true,
            "false" | "0" => false,
            other => bail!("{file}:{n}: violating must be true or false, got `{other}`"),
        };
        out.push(Label {
            account_id: account_id.to_string(),
            archetype: archetype.to_string(),
            violating,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_archetype_name_and_reports_lines() {
        let ok = read_labels_csv(
            "account_id,archetype,violating\nacc-1,support_bot,false\nacc-2,luzia_clone,true\nacc-3,umkm_shop,0\n"
                .as_bytes(),
            "l.csv",
        )
        .expect("parses");
        assert_eq!(
            ok,
            vec![
                Label {
                    account_id: "acc-1".into(),
                    archetype: "support_bot".into(),
                    violating: false
                },
                Label {
                    account_id: "acc-2".into(),
                    archetype: "luzia_clone".into(),
                    violating: true
                },
                Label {
                    account_id: "acc-3".into(),
                    archetype: "umkm_shop".into(),
                    violating: false
                },
            ]
        );
    }

    #[test]
    fn refuses_bad_lines_with_their_number() {
        let cases = [
            ("acc-1,robot\n", "l.csv:2: expected 3 columns"),
            (
                "acc-1,robot,maybe\n",
                "l.csv:2: violating must be true or false, got `maybe`",
            ),
            (",robot,true\n", "l.csv:2: empty account_id"),
            ("acc-1,two words,true\n", "l.csv:2: archetype must be"),
        ];
        for (body, want) in cases {
            let text = format!("account_id,archetype,violating\n{body}");
            let err = read_labels_csv(text.as_bytes(), "l.csv").expect_err(body);
            assert!(err.to_string().starts_with(want), "{body:?}: {err}");
        }
    }
}
