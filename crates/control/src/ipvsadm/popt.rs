//! A small emulation of popt's `poptGetNextOpt()` as ipvsadm uses it: long
//! options (`--name`, `--name=arg`, exact names only), bundled short options
//! (`-Ln`, `-p300`, `-p=300`), `POPT_ARGFLAG_OPTIONAL` (`-p [timeout]`: the next
//! word is taken unless it starts with `-`), `--` ending options, and non-option
//! words collected as leftovers for `poptGetArg()`.

/// Whether an option takes an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArgKind {
    None,
    Required,
    Optional,
}

/// One row of the `poptOption` table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OptDef<T: Copy> {
    pub long: &'static str,
    pub short: Option<char>,
    pub arg: ArgKind,
    pub tag: T,
}

/// popt error codes ipvsadm can meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoptError {
    /// `POPT_ERROR_NOARG`.
    NoArg,
    /// `POPT_ERROR_BADOPT`.
    BadOpt,
    /// `POPT_ERROR_UNWANTEDARG`.
    UnwantedArg,
}

impl PoptError {
    /// `poptStrerror()`.
    pub fn message(self) -> &'static str {
        match self {
            PoptError::NoArg => "missing argument",
            PoptError::BadOpt => "unknown option",
            PoptError::UnwantedArg => "option does not take an argument",
        }
    }
}

/// Parser state over one argument vector (without `argv[0]`).
pub(crate) struct Popt<'a, T: Copy + 'static> {
    table: &'static [OptDef<T>],
    args: &'a [String],
    next: usize,
    /// (argument index, byte offset) of the rest of a short-option bundle.
    next_char: Option<(usize, usize)>,
    rest_leftover: bool,
    leftovers: Vec<&'a str>,
    leftover_pos: usize,
}

impl<'a, T: Copy + 'static> Popt<'a, T> {
    pub fn new(table: &'static [OptDef<T>], args: &'a [String]) -> Self {
        Popt { table, args, next: 0, next_char: None, rest_leftover: false, leftovers: Vec::new(), leftover_pos: 0 }
    }

    /// `poptBadOption(con, POPT_BADOPTION_NOALIAS)`: the last word consumed.
    pub fn bad_option(&self) -> &'a str {
        match self.next.checked_sub(1).and_then(|i| self.args.get(i)) {
            Some(s) => s.as_str(),
            None => "",
        }
    }

    /// `poptGetArg()`: the next leftover word.
    pub fn get_arg(&mut self) -> Option<&'a str> {
        let a = self.leftovers.get(self.leftover_pos).copied();
        if a.is_some() {
            self.leftover_pos += 1;
        }
        a
    }

    /// `poptGetNextOpt()`: `Ok(None)` at the end (popt's -1).
    pub fn next_opt(&mut self) -> Result<Option<(T, Option<&'a str>)>, PoptError> {
        let args: &'a [String] = self.args;
        let (opt, long_arg) = loop {
            if let Some((ai, off)) = self.next_char.take() {
                let word: &'a str = args[ai].as_str();
                let rest = word.get(off..).unwrap_or("");
                let Some(c) = rest.chars().next() else {
                    continue;
                };
                let Some(opt) = self.table.iter().find(|o| o.short == Some(c)) else {
                    return Err(PoptError::BadOpt);
                };
                let after = off + c.len_utf8();
                if after < word.len() {
                    self.next_char = Some((ai, after));
                }
                break (opt, None);
            }
            let Some(word) = args.get(self.next) else {
                return Ok(None);
            };
            let word: &'a str = word.as_str();
            self.next += 1;
            if self.rest_leftover || !word.starts_with('-') || word == "-" {
                self.leftovers.push(word);
                continue;
            }
            if word == "--" {
                self.rest_leftover = true;
                continue;
            }
            if let Some(long) = word.strip_prefix("--") {
                let (name, arg) = match long.find('=') {
                    Some(i) => (&long[..i], Some(&long[i + 1..])),
                    None => (long, None),
                };
                let Some(opt) = self.table.iter().find(|o| o.long == name) else {
                    return Err(PoptError::BadOpt);
                };
                break (opt, arg);
            }
            // A single dash: no ipvsadm option is POPT_ARGFLAG_ONEDASH, so this
            // is a bundle of short options.
            self.next_char = Some((self.next - 1, 1));
        };
        match opt.arg {
            ArgKind::None => {
                if long_arg.is_some() {
                    return Err(PoptError::UnwantedArg);
                }
                Ok(Some((opt.tag, None)))
            }
            ArgKind::Required | ArgKind::Optional => {
                if long_arg.is_some() {
                    return Ok(Some((opt.tag, long_arg)));
                }
                if let Some((ai, off)) = self.next_char.take() {
                    let rest = args[ai].get(off..).unwrap_or("");
                    let rest = rest.strip_prefix('=').unwrap_or(rest);
                    return Ok(Some((opt.tag, Some(rest))));
                }
                match args.get(self.next) {
                    None if opt.arg == ArgKind::Optional => Ok(Some((opt.tag, None))),
                    None => Err(PoptError::NoArg),
                    Some(w) if opt.arg == ArgKind::Optional && w.starts_with('-') => Ok(Some((opt.tag, None))),
                    Some(w) => {
                        self.next += 1;
                        Ok(Some((opt.tag, Some(w.as_str()))))
                    }
                }
            }
        }
    }
}
