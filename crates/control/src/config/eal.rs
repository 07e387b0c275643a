//! What rvs needs to know from the EAL argument list: which devices it
//! creates and which lcores it runs.

/// Facts gathered from `eal.args`.
#[derive(Debug, Default)]
pub(super) struct EalInfo {
    /// `--vdev` devices: (name, full devargs string).
    pub vdevs: Vec<(String, String)>,
    /// `-a`/`--allow`/`-w` devices, PCI addresses normalised to `DDDD:BB:DD.F`.
    pub allow: Vec<String>,
    /// `-b`/`--block` devices, normalised likewise.
    pub block: Vec<String>,
    pub no_pci: bool,
    /// Lcores from `-l`, `--lcores` or `-c`; `None` if none was given.
    pub lcores: Option<Vec<u32>>,
    /// `--main-lcore`, if given.
    pub main_lcore: Option<u32>,
    /// `--lcores` with `@`: lcore ids are not CPU ids.
    pub lcores_remapped: bool,
}

/// Upper bound for lcore ids we accept (DPDK's RTE_MAX_LCORE is lower).
const LCORE_LIMIT: u32 = 1024;

/// An error in `eal.args[index]`.
#[derive(Debug)]
pub(super) struct EalError {
    pub index: usize,
    pub message: String,
}

impl EalInfo {
    /// The lcore that runs `main()` and hence rvsd's control thread:
    /// `--main-lcore`, else the lowest listed lcore (DPDK's rule), else 0.
    pub fn main_lcore(&self) -> u32 {
        self.main_lcore.or_else(|| self.lcores.as_ref().and_then(|l| l.iter().min().copied())).unwrap_or(0)
    }
}

/// Scan the EAL arguments. Options rvs does not care about are skipped.
pub(super) fn analyze(args: &[String]) -> Result<EalInfo, EalError> {
    let mut info = EalInfo::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let at = i;
        i += 1;
        if arg == "--" {
            break;
        }
        let (opt, inline) = split_option(arg);
        let Some(opt) = opt else { continue };
        if opt == "--no-pci" {
            info.no_pci = true;
            continue;
        }
        if !takes_value(opt) {
            continue;
        }
        // Errors in the value point at the argument holding it.
        let mut at = at;
        let value = match inline {
            Some(v) => v,
            None => match args.get(i) {
                Some(v) => {
                    at = i;
                    i += 1;
                    v.as_str()
                }
                None => return Err(EalError { index: at, message: format!("'{opt}' needs a value") }),
            },
        };
        let err = |message: String| EalError { index: at, message };
        match opt {
            "--vdev" => {
                let name = device_name(value);
                if name.is_empty() {
                    return Err(err(format!("'--vdev {value}' has no device name")));
                }
                info.vdevs.push((name.to_string(), value.to_string()));
            }
            "-a" | "--allow" | "-w" | "--pci-whitelist" => info.allow.push(normalise_device(value)),
            "-b" | "--block" | "--pci-blacklist" => info.block.push(normalise_device(value)),
            "-l" => info.lcores = Some(parse_lcore_list(value).map_err(err)?),
            "--lcores" => {
                info.lcores = Some(parse_lcores_map(value).map_err(err)?);
                info.lcores_remapped = value.contains('@');
            }
            "-c" => info.lcores = Some(parse_coremask(value).map_err(err)?),
            "--main-lcore" => {
                info.main_lcore = Some(parse_lcore(value).map_err(err)?);
            }
            _ => {}
        }
    }
    Ok(info)
}

/// Split `--opt=value` / `-lVALUE`; `None` for non-option words.
fn split_option(arg: &str) -> (Option<&str>, Option<&str>) {
    if let Some(rest) = arg.strip_prefix("--") {
        if rest.is_empty() {
            return (None, None);
        }
        return match arg.split_once('=') {
            Some((o, v)) => (Some(o), Some(v)),
            None => (Some(arg), None),
        };
    }
    if arg.len() >= 2 && arg.starts_with('-') && arg.is_char_boundary(2) {
        let (o, v) = arg.split_at(2);
        return (Some(o), (!v.is_empty()).then_some(v));
    }
    (None, None)
}

/// Options whose value we read (the rest are skipped, values and all
/// being harmless positional words to us).
fn takes_value(opt: &str) -> bool {
    matches!(
        opt,
        "--vdev"
            | "-a"
            | "--allow"
            | "-w"
            | "--pci-whitelist"
            | "-b"
            | "--block"
            | "--pci-blacklist"
            | "-l"
            | "--lcores"
            | "-c"
            | "--main-lcore"
    )
}

/// The value of `key=value` in a devargs string.
pub(super) fn devarg<'a>(devargs: &'a str, key: &str) -> Option<&'a str> {
    devargs.split(',').skip(1).find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// Device name of a `NAME,key=value,...` devargs string.
fn device_name(devargs: &str) -> &str {
    devargs.split(',').next().unwrap_or("").trim()
}

/// A devargs string's device name, PCI addresses in DPDK's canonical form.
fn normalise_device(devargs: &str) -> String {
    let name = device_name(devargs);
    normalise_pci(name).unwrap_or_else(|| name.to_string())
}

/// `DDDD:BB:DD.F` or `BB:DD.F` → lower-case `dddd:bb:dd.f` (how DPDK names
/// PCI ethdevs); `None` if `s` is not a PCI address.
pub(super) fn normalise_pci(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (domain, bus, devfn) = match parts.as_slice() {
        [d, b, df] => (*d, *b, *df),
        [b, df] => ("0000", *b, *df),
        _ => return None,
    };
    let (dev, func) = devfn.split_once('.')?;
    let hex = |p: &str, max: usize| !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_hexdigit());
    if !(hex(domain, 4) && hex(bus, 2) && hex(dev, 2) && func.len() == 1) {
        return None;
    }
    let d = u32::from_str_radix(domain, 16).ok()?;
    let b = u32::from_str_radix(bus, 16).ok()?;
    let dv = u32::from_str_radix(dev, 16).ok()?;
    let f = func.parse::<u32>().ok()?;
    (dv <= 0x1f && f <= 7).then(|| format!("{d:04x}:{b:02x}:{dv:02x}.{f}"))
}

fn parse_lcore(s: &str) -> Result<u32, String> {
    let s = s.trim();
    match s.parse::<u32>() {
        Ok(n) if s.bytes().all(|b| b.is_ascii_digit()) && n < LCORE_LIMIT => Ok(n),
        _ => Err(format!("'{s}' is not an lcore id (0..{LCORE_LIMIT})")),
    }
}

/// `-l` syntax: `0,2-4,7`.
fn parse_lcore_list(s: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for item in s.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse_lcore(a)?, parse_lcore(b)?);
                if a > b {
                    return Err(format!("lcore range '{item}' is backwards"));
                }
                out.extend(a..=b);
            }
            None => out.push(parse_lcore(item)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `--lcores` syntax: `LCORES[@CPUS],...` where LCORES is `N`, `N-M` or a
/// parenthesised list. Only the lcore ids matter here.
fn parse_lcores_map(s: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut elements = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                elements.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("unbalanced ')' in --lcores '{s}'"));
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced '(' in --lcores '{s}'"));
    }
    elements.push(&s[start..]);
    for el in elements {
        let lcores = el.split('@').next().unwrap_or("");
        let lcores = lcores.trim_start_matches('(').trim_end_matches(')');
        out.extend(parse_lcore_list(lcores)?);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `-c` hexadecimal core mask.
fn parse_coremask(s: &str) -> Result<Vec<u32>, String> {
    let hex = s.trim().trim_start_matches("0x").trim_start_matches("0X");
    let bad = || format!("'{s}' is not a hexadecimal core mask");
    if hex.is_empty() || hex.len() > (LCORE_LIMIT / 4) as usize {
        return Err(bad());
    }
    let mut out = Vec::new();
    for (pos, c) in hex.chars().rev().enumerate() {
        let nibble = c.to_digit(16).ok_or_else(bad)?;
        for bit in 0..4u32 {
            if nibble & (1 << bit) != 0 {
                out.push(pos as u32 * 4 + bit);
            }
        }
    }
    Ok(out)
}
