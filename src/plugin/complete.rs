//! Cobra's `__complete` protocol, which the Tanzu CLI uses for plugins with `completionType: 0`:
//! `kpipe __complete <args…> <word>` prints the candidates for `<word>` one per line
//! (`candidate<TAB>description`), then a line `:<directive>`. Directives used here (cobra's bit
//! values): 0 = default (the shell completes file names), 4 = no file completion.
//!
//! What is completed: subcommand names, `--long` flags of the current command, and the values
//! of flags with a fixed set (`-o yaml|json`). Flags and positionals that take paths get
//! directive 0 so the shell lists files; other values get no candidates and directive 4.

use clap::builder::ValueHint;
use clap::{Arg, Command};

/// The shell completes file names.
pub const DIRECTIVE_DEFAULT: u32 = 0;
/// No file-name completion.
pub const DIRECTIVE_NO_FILE: u32 = 4;

/// Candidates (`name` or `name\tdescription`) and the directive for `args`, whose last element
/// is the word being completed (possibly empty).
pub fn complete(mut root: Command, args: &[String]) -> (Vec<String>, u32) {
    root.build();
    let (word, before) = match args.split_last() {
        Some((w, b)) => (w.as_str(), b),
        None => ("", &[][..]),
    };
    let mut cmd = &root;
    let mut pending: Option<&Arg> = None;
    let mut only_positionals = false;
    for a in before {
        if pending.take().is_some() {
            continue;
        }
        if only_positionals {
            continue;
        }
        if a == "--" {
            only_positionals = true;
        } else if let Some(long) = a.strip_prefix("--") {
            if let Some(arg) = find_long(cmd, long) {
                if takes_value(arg) && !long.contains('=') {
                    pending = Some(arg);
                }
            }
        } else if let Some(shorts) = a.strip_prefix('-').filter(|s| !s.is_empty()) {
            // `-o` then a value; `-oyaml` carries its value.
            let first = shorts.chars().next();
            if let Some(arg) =
                first.and_then(|c| cmd.get_arguments().find(|x| x.get_short() == Some(c)))
            {
                if takes_value(arg) && shorts.chars().count() == 1 {
                    pending = Some(arg);
                }
            }
        } else if let Some(sub) = cmd.find_subcommand(a) {
            cmd = sub;
        }
    }

    if let Some(arg) = pending {
        return values(arg, word, "");
    }
    if !only_positionals {
        if let Some(rest) = word.strip_prefix("--") {
            if let Some((name, prefix)) = rest.split_once('=') {
                return match find_long(cmd, name) {
                    Some(arg) => values(arg, prefix, &format!("--{name}=")),
                    None => (Vec::new(), DIRECTIVE_NO_FILE),
                };
            }
        }
        if word.starts_with('-') {
            let mut out = Vec::new();
            for arg in cmd.get_arguments() {
                if arg.is_hide_set() || arg.is_positional() {
                    continue;
                }
                if let Some(long) = arg.get_long() {
                    let flag = format!("--{long}");
                    if flag.starts_with(word) {
                        out.push(with_help(&flag, arg.get_help().map(|h| h.to_string())));
                    }
                }
            }
            return (out, DIRECTIVE_NO_FILE);
        }
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name().starts_with(word))
        .map(|s| with_help(s.get_name(), s.get_about().map(|h| h.to_string())))
        .collect();
    if cmd.has_subcommands() {
        return (subs, DIRECTIVE_NO_FILE);
    }
    if cmd.get_positionals().next().is_some() {
        return (Vec::new(), DIRECTIVE_DEFAULT);
    }
    (Vec::new(), DIRECTIVE_NO_FILE)
}

/// The protocol's output: candidates, then `:<directive>`.
pub fn format(candidates: &[String], directive: u32) -> String {
    let mut out = String::new();
    for c in candidates {
        out.push_str(c);
        out.push('\n');
    }
    out.push_str(&format!(":{directive}\n"));
    out
}

fn find_long<'a>(cmd: &'a Command, long: &str) -> Option<&'a Arg> {
    let name = long.split('=').next().unwrap_or(long);
    cmd.get_arguments().find(|a| a.get_long() == Some(name))
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn values(arg: &Arg, word: &str, prefix: &str) -> (Vec<String>, u32) {
    let possible = arg.get_possible_values();
    if !possible.is_empty() {
        let out = possible
            .iter()
            .filter(|p| !p.is_hide_set() && p.get_name().starts_with(word))
            .map(|p| {
                with_help(
                    &format!("{prefix}{}", p.get_name()),
                    p.get_help().map(|h| h.to_string()),
                )
            })
            .collect();
        return (out, DIRECTIVE_NO_FILE);
    }
    let pathy = matches!(
        arg.get_value_hint(),
        ValueHint::FilePath | ValueHint::DirPath | ValueHint::AnyPath
    ) || arg.get_value_names().is_some_and(|names| {
        names.iter().any(|n| {
            let n = n.as_str();
            n.contains("FILE") || n.contains("DIR") || n.contains("PATH")
        })
    });
    if pathy {
        (Vec::new(), DIRECTIVE_DEFAULT)
    } else {
        (Vec::new(), DIRECTIVE_NO_FILE)
    }
}

fn with_help(name: &str, help: Option<String>) -> String {
    match help {
        Some(h) if !h.is_empty() => {
            let first = h.lines().next().unwrap_or_default();
            format!("{name}\t{first}")
        }
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{value_parser, ArgAction};

    fn cli() -> Command {
        Command::new("k")
            .subcommand(
                Command::new("render")
                    .about("Render things")
                    .arg(Arg::new("dir"))
                    .arg(
                        Arg::new("output")
                            .short('o')
                            .long("output")
                            .value_parser(["yaml", "json"]),
                    )
                    .arg(Arg::new("values").long("values").value_name("FILE"))
                    .arg(Arg::new("session").long("session").value_name("NAME"))
                    .arg(Arg::new("check").long("check").action(ArgAction::SetTrue))
                    .arg(Arg::new("n").long("max").value_parser(value_parser!(u64))),
            )
            .subcommand(Command::new("info").hide(true))
    }

    fn run(args: &[&str]) -> (Vec<String>, u32) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        complete(cli(), &args)
    }

    #[test]
    fn subcommands_hide_hidden() {
        let (c, d) = run(&[""]);
        let names: Vec<&str> = c.iter().map(|l| l.split('\t').next().unwrap()).collect();
        assert_eq!(names, vec!["render", "help"]);
        assert_eq!(c[0], "render\tRender things");
        assert_eq!(d, DIRECTIVE_NO_FILE);
        assert_eq!(run(&["x"]).0.len(), 0);
    }

    #[test]
    fn flags_and_values() {
        let (c, _) = run(&["render", "--s"]);
        assert_eq!(c, vec!["--session".to_string()]);
        assert_eq!(run(&["render", "-o", ""]).0, vec!["yaml", "json"]);
        assert_eq!(run(&["render", "--output", "j"]).0, vec!["json"]);
        assert_eq!(run(&["render", "--output=y"]).0, vec!["--output=yaml"]);
        assert_eq!(
            run(&["render", "--values", ""]),
            (vec![], DIRECTIVE_DEFAULT)
        );
        assert_eq!(
            run(&["render", "--session", ""]),
            (vec![], DIRECTIVE_NO_FILE)
        );
        // After a boolean flag the positional (a folder) completes as files.
        assert_eq!(run(&["render", "--check", ""]), (vec![], DIRECTIVE_DEFAULT));
        // A flag's value is not taken for a subcommand.
        assert_eq!(
            run(&["render", "--session", "info", ""]).1,
            DIRECTIVE_DEFAULT
        );
    }

    #[test]
    fn output_format() {
        assert_eq!(format(&["a".into(), "b".into()], 4), "a\nb\n:4\n");
        assert_eq!(format(&[], 0), ":0\n");
    }
}
