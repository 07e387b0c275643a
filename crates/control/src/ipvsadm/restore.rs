//! `-R` input: ipvsadm's `restore_table()` + `config_stream_read()`, made
//! all-or-nothing. Each line is one command, words separated by blanks, with an
//! optional leading `ipvsadm` (or `rvsadm`); blank lines and `#` comments are
//! skipped. Any bad line rejects the whole input, naming the line, so nothing
//! is applied (ipvsadm applies the lines before the bad one).

use super::model::Command;
use super::parse::parse;
use super::UsageError;
use std::fmt;

/// Why restore input was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreError {
    /// 1-based line number.
    pub line: usize,
    /// What ipvsadm would have said about that line (no trailing newline).
    pub message: String,
    /// The exit status ipvsadm uses for that error.
    pub exit_code: i32,
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for RestoreError {}

/// Split one line into words like `config_stream_read()` (blanks are space,
/// tab, CR), dropping a leading program name and a `#` comment.
fn words(line: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in line.split([' ', '\t', '\r']).filter(|w| !w.is_empty()) {
        if w.starts_with('#') {
            break;
        }
        if out.is_empty() && (w == "ipvsadm" || w == "rvsadm") {
            continue;
        }
        out.push(w.to_string());
    }
    out
}

fn reject(line: usize, e: UsageError) -> RestoreError {
    RestoreError { line, message: e.to_string(), exit_code: e.exit_code }
}

/// Parse a whole `-R` input into commands, or reject it naming the first bad
/// line. Only configuration commands are accepted (no `-L`, `-S`, `-R`, `-h`).
pub fn parse_restore(text: &str) -> Result<Vec<Command>, RestoreError> {
    Ok(parse_restore_lines(text)?.into_iter().map(|(_, c)| c).collect())
}

/// As [`parse_restore`], with each command's 1-based line number, so that a command
/// which parses but cannot be applied can be reported by line too.
pub fn parse_restore_lines(text: &str) -> Result<Vec<(usize, Command)>, RestoreError> {
    let mut cmds = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let w = words(line);
        if w.is_empty() {
            continue;
        }
        let cmd = parse(&w).map_err(|e| reject(n, e))?;
        match cmd {
            // ipvsadm: "avoid infinite loop" -> tryhelp_exit().
            Command::Restore => return Err(reject(n, UsageError::try_help())),
            Command::Help | Command::Version | Command::List(_) | Command::Save { .. } | Command::GetLaddr { .. } => {
                return Err(RestoreError {
                    line: n,
                    message: format!("`{}' is not a configuration command", w.join(" ")),
                    exit_code: 2,
                });
            }
            c => cmds.push((n, c)),
        }
    }
    Ok(cmds)
}
