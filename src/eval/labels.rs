//! Reads the labels CSV the scenario generator writes:
//! `account_id,archetype,violating`.

use std::io::BufRead;

use anyhow::{bail, Context, Result};

use crate::scenario::{Archetype, Label};

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
        let Some(archetype) = Archetype::from_name(archetype) else {
            bail!("{file}:{n}: unknown archetype `{archetype}`");
        };
        let violating = match *violating {
            "true" | "1" => true,
            "false" | "0" => false,
            other => bail!("{file}:{n}: violating must be true or false, got `{other}`"),
        };
        out.push(Label {
            account_id: account_id.to_string(),
            archetype,
            violating,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_lines() {
        let ok = read_labels_csv(
            "account_id,archetype,violating\nacc-1,support_bot,false\nacc-2,assistant_distributor,true\n".as_bytes(),
            "l.csv",
        )
        .expect("parses");
        assert_eq!(ok.len(), 2);
        assert!(ok[1].violating);
        let err = read_labels_csv(
            "account_id,archetype,violating\nacc-1,robot,false\n".as_bytes(),
            "l.csv",
        )
        .expect_err("bad archetype");
        assert!(err.to_string().starts_with("l.csv:2:"), "{err}");
    }
}
