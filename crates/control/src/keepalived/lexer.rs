//! keepalived.conf as keepalived 2.2.7's parser (`lib/parser.c`) reads it: lines of
//! whitespace-separated words; `{` and `}` are words of their own; `#` or `!` starting a
//! word comments out the rest of the line; `"..."` is one word without its quotes;
//! `include GLOB` splices in files, a relative pattern taken from the including file's
//! directory. Lines are then grouped into a tree of statements.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Diag, Pos};

/// keepalived's include depth is bounded; so is ours (against include loops).
const MAX_INCLUDE_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
}

/// One statement: a keyword, its arguments and, for `kw ... {`, its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub pos: Pos,
    pub words: Vec<String>,
    pub block: Option<Vec<Stmt>>,
}

impl Stmt {
    pub fn keyword(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }
}

/// Reads `path` (and its includes) into statements; warnings are what keepalived logs
/// and goes on (extra `}`, missing `}`, unmatched quote, include matching nothing).
pub fn read(path: &Path, warnings: &mut Vec<Diag>) -> Result<Vec<Stmt>, Diag> {
    let mut lines = Vec::new();
    lex_file(path, 0, None, &mut lines, warnings)?;
    Ok(tree(lines, warnings))
}

fn lex_file(
    path: &Path,
    depth: usize,
    from: Option<&Pos>,
    out: &mut Vec<(Pos, Vec<Tok>)>,
    warnings: &mut Vec<Diag>,
) -> Result<(), Diag> {
    let text = std::fs::read(path).map_err(|e| match from {
        Some(p) => p.diag(format!("cannot read included file {}: {e}", path.display())),
        None => Diag { pos: Pos { file: Arc::from(path), line: 0 }, message: format!("cannot read: {e}") },
    })?;
    let text = String::from_utf8_lossy(&text);
    let file: Arc<Path> = Arc::from(path);
    for (i, raw) in text.lines().enumerate() {
        let pos = Pos { file: file.clone(), line: i + 1 };
        let toks = lex_line(raw, &pos, warnings);
        if let Some(Tok::Word(w)) = toks.first() {
            if w == "include" {
                let Some(Tok::Word(pattern)) = toks.get(1) else {
                    return Err(pos.diag("include needs a file name or pattern"));
                };
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(pos.diag(format!("include nested deeper than {MAX_INCLUDE_DEPTH} files")));
                }
                let base = path.parent().unwrap_or(Path::new("."));
                let files = glob(&base.join(pattern));
                if files.is_empty() {
                    // keepalived: "Config files missing" (an error only with -i/--all-config).
                    warnings.push(pos.diag(format!("include '{pattern}': no file matches")));
                }
                for f in files {
                    lex_file(&f, depth + 1, Some(&pos), out, warnings)?;
                }
                continue;
            }
        }
        if !toks.is_empty() {
            out.push((pos, toks));
        }
    }
    Ok(())
}

fn lex_line(line: &str, pos: &Pos, warnings: &mut Vec<Diag>) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&c) = chars.peek() else { break };
        match c {
            '#' | '!' => break,
            '{' | '}' => {
                chars.next();
                toks.push(if c == '{' { Tok::Open } else { Tok::Close });
            }
            '"' => {
                chars.next();
                let mut w = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => w.push(c),
                        None => {
                            warnings.push(pos.diag("Unmatched quote"));
                            break;
                        }
                    }
                }
                toks.push(Tok::Word(w));
            }
            _ => {
                let mut w = String::new();
                while let Some(c) = chars.next_if(|c| !c.is_whitespace() && !matches!(c, '{' | '}' | '"')) {
                    w.push(c);
                }
                toks.push(Tok::Word(w));
            }
        }
    }
    toks
}

/// Groups lines into statements: words up to `{`, `}` or the end of the line.
fn tree(lines: Vec<(Pos, Vec<Tok>)>, warnings: &mut Vec<Diag>) -> Vec<Stmt> {
    // Stack of open blocks: the statement that opened it and its children so far.
    let mut stack: Vec<(Option<Stmt>, Vec<Stmt>)> = vec![(None, Vec::new())];
    for (pos, toks) in lines {
        let mut words: Vec<String> = Vec::new();
        for t in toks {
            match t {
                Tok::Word(w) => words.push(w),
                Tok::Open => {
                    let s = Stmt { pos: pos.clone(), words: std::mem::take(&mut words), block: None };
                    stack.push((Some(s), Vec::new()));
                }
                Tok::Close => {
                    flush(&mut stack, &pos, &mut words);
                    if stack.len() == 1 {
                        // keepalived 2.2.7: "Extra '}' found", then ignores it.
                        warnings.push(pos.diag("Extra '}' found"));
                    } else if let Some((Some(mut opener), children)) = stack.pop() {
                        opener.block = Some(children);
                        if let Some(top) = stack.last_mut() {
                            top.1.push(opener);
                        }
                    }
                }
            }
        }
        flush(&mut stack, &pos, &mut words);
    }
    while stack.len() > 1 {
        if let Some((Some(mut opener), children)) = stack.pop() {
            // keepalived 2.2.7: "There are N missing '}'s or extra '{'s".
            warnings.push(opener.pos.diag(format!("'{}' block has no closing '}}'", opener.keyword())));
            opener.block = Some(children);
            if let Some(top) = stack.last_mut() {
                top.1.push(opener);
            }
        }
    }
    stack.pop().map(|(_, v)| v).unwrap_or_default()
}

fn flush(stack: &mut [(Option<Stmt>, Vec<Stmt>)], pos: &Pos, words: &mut Vec<String>) {
    if !words.is_empty() {
        if let Some(top) = stack.last_mut() {
            top.1.push(Stmt { pos: pos.clone(), words: std::mem::take(words), block: None });
        }
    }
}

/// glob(3) for include (the `glob` crate: `*`, `?`, `[...]`, dot files only when named),
/// matches sorted, directories left out.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let Some(p) = pattern.to_str() else { return Vec::new() };
    let Ok(paths) = glob::glob(p) else { return Vec::new() };
    let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
    found.sort();
    found
}
