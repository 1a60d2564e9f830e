//! Rule-file errors: every problem with its file, line and reason.

use std::fmt;

/// One problem in a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (as given).
    pub file: String,
    /// 1-based line; 0 when the line is unknown.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// A rules file that did not compile. Holds every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    diagnostics: Vec<Diagnostic>,
}

impl RuleError {
    pub(crate) fn new(diagnostics: Vec<Diagnostic>) -> Self {
        RuleError { diagnostics }
    }

    /// Every problem, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleError {}
