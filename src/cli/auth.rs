//! `satpam auth hash-token`: the `token_sha256` of a bearer token, read from
//! stdin (not an argument, so it stays out of shell history and `ps`).

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use satpam::access::auth::hash_token;

/// Reads one token from `input` (surrounding whitespace and the trailing
/// newline are not part of it) and writes its hex SHA-256 to `out`.
pub fn hash_token_cmd(input: &mut impl Read, out: &mut impl Write) -> Result<ExitCode> {
    let mut buf = String::new();
    input
        .take(64 * 1024)
        .read_to_string(&mut buf)
        .context("reading the token from stdin")?;
    let token = buf.trim();
    if token.is_empty() {
        anyhow::bail!("no token on stdin (e.g. `printf %s \"$TOKEN\" | satpam auth hash-token`)");
    }
    if token.chars().any(char::is_whitespace) {
        anyhow::bail!("the token has whitespace inside; a bearer token is one word");
    }
    writeln!(out, "{}", hash_token(token))?;
    Ok(ExitCode::SUCCESS)
}
