//! Parsers for shell history files (bash, zsh plain and extended, fish), the input of an
//! import. Pure and lossless where the format allows; malformed lines are kept as commands.

use alloc::string::String;
use alloc::vec::Vec;

/// One command read from a history file. Times are nanoseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImportedCommand {
    pub command: String,
    pub timestamp: Option<u64>,
    pub duration: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    /// Guess the format from a file name, else from the content.
    pub fn detect(filename: Option<&str>, text: &str) -> Shell {
        let name = filename
            .unwrap_or("")
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("");
        if name.contains("fish") {
            return Shell::Fish;
        }
        if name.contains("zsh") || name.contains("zhistory") {
            return Shell::Zsh;
        }
        if name.contains("bash") {
            return Shell::Bash;
        }
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if first.starts_with("- cmd: ") {
            Shell::Fish
        } else if parse_zsh_extended_header(first).is_some() {
            Shell::Zsh
        } else {
            Shell::Bash
        }
    }
}

const NS: u64 = 1_000_000_000;

/// zsh "metafies" bytes 0x83 and up in its history file as 0x83 followed by the byte XOR 32.
fn unmetafy(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut it = bytes.iter();
    while let Some(&b) = it.next() {
        match (b, it.as_slice().first()) {
            (0x83, Some(&n)) => {
                out.push(n ^ 32);
                it.next();
            }
            _ => out.push(b),
        }
    }
    out
}

/// Parse a history file as stored on disk: detect the shell (by `filename`, else content),
/// undo zsh's metafication, decode UTF-8 (invalid sequences become U+FFFD).
pub fn parse_file(filename: Option<&str>, bytes: &[u8]) -> (Shell, Vec<ImportedCommand>) {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let shell = Shell::detect(filename, &head);
    let text = match shell {
        Shell::Zsh => String::from_utf8_lossy(&unmetafy(bytes)).into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    };
    (shell, parse(shell, &text))
}

/// Parse a history file of the given shell. Empty commands are skipped.
pub fn parse(shell: Shell, text: &str) -> Vec<ImportedCommand> {
    let mut out = match shell {
        Shell::Bash => parse_bash(text),
        Shell::Zsh => parse_zsh(text),
        Shell::Fish => parse_fish(text),
    };
    out.retain(|c| !c.command.trim().is_empty());
    out
}

fn cmd(command: String, timestamp: Option<u64>, duration: Option<i64>) -> ImportedCommand {
    ImportedCommand {
        command,
        timestamp,
        duration,
    }
}

/// bash: one command a line, optionally preceded by `#<epoch seconds>` (HISTTIMEFORMAT).
fn parse_bash(text: &str) -> Vec<ImportedCommand> {
    let mut out = Vec::new();
    let mut ts = None;
    for line in text.lines() {
        if let Some(secs) = line
            .strip_prefix('#')
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            ts = secs.checked_mul(NS);
            continue;
        }
        out.push(cmd(String::from(line), ts.take(), None));
    }
    out
}

/// `: <start>:<elapsed>;` → (start, elapsed, rest of the line).
fn parse_zsh_extended_header(line: &str) -> Option<(u64, i64, &str)> {
    let rest = line.strip_prefix(": ")?;
    let (start, rest) = rest.split_once(':')?;
    let (elapsed, command) = rest.split_once(';')?;
    Some((
        start.trim().parse().ok()?,
        elapsed.trim().parse().ok()?,
        command,
    ))
}

/// zsh: plain lines or extended `: start:elapsed;command`; a line ending in `\` continues.
fn parse_zsh(text: &str) -> Vec<ImportedCommand> {
    let mut out: Vec<ImportedCommand> = Vec::new();
    let mut continuing = false;
    for line in text.lines() {
        if continuing {
            if let Some(last) = out.last_mut() {
                last.command.push('\n');
                last.command
                    .push_str(line.strip_suffix('\\').unwrap_or(line));
            }
        } else if let Some((start, elapsed, command)) = parse_zsh_extended_header(line) {
            let body = command.strip_suffix('\\').unwrap_or(command);
            out.push(cmd(
                String::from(body),
                start.checked_mul(NS),
                elapsed.checked_mul(NS as i64),
            ));
        } else {
            out.push(cmd(
                String::from(line.strip_suffix('\\').unwrap_or(line)),
                None,
                None,
            ));
        }
        continuing = line.ends_with('\\') && !line.ends_with("\\\\");
    }
    out
}

/// fish: `- cmd: <escaped>` then indented `when: <epoch seconds>` (and `paths:`).
fn parse_fish(text: &str) -> Vec<ImportedCommand> {
    let mut out: Vec<ImportedCommand> = Vec::new();
    for line in text.lines() {
        if let Some(c) = line.strip_prefix("- cmd: ") {
            out.push(cmd(unescape_fish(c), None, None));
        } else if let Some(w) = line.trim_start().strip_prefix("when: ") {
            if let (Some(last), Ok(secs)) = (out.last_mut(), w.trim().parse::<u64>()) {
                last.timestamp = secs.checked_mul(NS);
            }
        }
    }
    out
}

fn unescape_fish(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn cmds(v: &[ImportedCommand]) -> Vec<&str> {
        v.iter().map(|c| c.command.as_str()).collect()
    }

    #[test]
    fn bash_with_and_without_timestamps() {
        let v = parse(Shell::Bash, "ls\n#1700000000\ngit status\n\necho 'a b'\n");
        assert_eq!(cmds(&v), vec!["ls", "git status", "echo 'a b'"]);
        assert_eq!(v[0].timestamp, None);
        assert_eq!(v[1].timestamp, Some(1_700_000_000 * NS));
        assert_eq!(v[2].timestamp, None);
    }

    #[test]
    fn zsh_extended_with_multiline() {
        let text = ": 1700000000:3;make test\n: 1700000010:0;for f in *; do\\\necho $f\\\ndone\n: 1700000020:0;ls\n";
        let v = parse(Shell::Zsh, text);
        assert_eq!(
            cmds(&v),
            vec!["make test", "for f in *; do\necho $f\ndone", "ls"]
        );
        assert_eq!(v[0].timestamp, Some(1_700_000_000 * NS));
        assert_eq!(v[0].duration, Some(3 * NS as i64));
        assert_eq!(Shell::detect(None, text), Shell::Zsh);
    }

    #[test]
    fn zsh_file_is_unmetafied_before_decoding() {
        // "é" is C3 A9; zsh writes A9 as 83 89 (0xA9 ^ 32).
        let file = b": 1:0;echo caf\xc3\x83\x89\n";
        let (shell, v) = parse_file(Some("/home/u/.zsh_history"), file);
        assert_eq!(shell, Shell::Zsh);
        assert_eq!(cmds(&v), vec!["echo caf\u{e9}"]);
        let (shell, v) = parse_file(None, b"ls\n\xff\n");
        assert_eq!(shell, Shell::Bash);
        assert_eq!(cmds(&v), vec!["ls", "\u{fffd}"]);
    }

    #[test]
    fn zsh_plain() {
        assert_eq!(
            cmds(&parse(Shell::Zsh, "ls\ncd /tmp\n")),
            vec!["ls", "cd /tmp"]
        );
    }

    #[test]
    fn fish_with_escapes() {
        let text = "- cmd: echo hi\\nthere\n  when: 1700000000\n  paths:\n    - hi\n- cmd: ls C:\\\\dir\n  when: 1700000005\n";
        let v = parse(Shell::Fish, text);
        assert_eq!(cmds(&v), vec!["echo hi\nthere", "ls C:\\dir"]);
        assert_eq!(v[1].timestamp, Some(1_700_000_005 * NS));
        assert_eq!(Shell::detect(None, text), Shell::Fish);
    }

    #[test]
    fn detect_by_name() {
        assert_eq!(
            Shell::detect(Some("/home/u/.local/share/fish/fish_history"), ""),
            Shell::Fish
        );
        assert_eq!(Shell::detect(Some(".zsh_history"), "ls"), Shell::Zsh);
        assert_eq!(
            Shell::detect(Some(".bash_history"), ": 1:0;ls"),
            Shell::Bash
        );
        assert_eq!(Shell::detect(None, "ls\n"), Shell::Bash);
    }

    #[test]
    fn absurd_numbers_do_not_panic() {
        let v = parse(
            Shell::Zsh,
            ": 99999999999999999999:1;x\n: 18446744073709551615:-9223372036854775808;y\n",
        );
        assert_eq!(cmds(&v), vec![": 99999999999999999999:1;x", "y"]);
        assert_eq!(v[1].timestamp, None);
        assert_eq!(v[1].duration, None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,400}") {
            for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                let _ = parse(shell, &s);
            }
            let _ = Shell::detect(Some(&s), &s);
        }

        #[test]
        fn files_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse_file(Some(".zsh_history"), &b);
            let _ = parse_file(None, &b);
        }
    }
}
