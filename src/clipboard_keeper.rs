//! Keeps the app's last copy on the clipboard after the window closes. On X11 (and Wayland) the
//! clipboard is served by the process that copied: when it exits, the text is gone unless a
//! clipboard manager took it. So on exit the app hands its last copy to a short-lived helper, this
//! same binary's hidden `clipboard-keeper` command, which serves it until another program copies
//! something (arboard's `SetExtLinux::wait`), then exits. It has no window of its own (arboard's
//! is never mapped), and it takes the clipboard only while it still holds the app's copy, so a
//! later copy in another program is never overwritten.

use std::io::{BufRead as _, Read as _, Write as _};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

/// How long closing waits for the helper to say whether it took the clipboard: the window still
/// serves the copy meanwhile, so the helper can read it.
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(3);

/// The longest text handed over (the app copies links: this is far above any batch).
pub const MAX_TEXT_BYTES: u64 = 1 << 20;

/// What the helper says on its first line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// It owns the clipboard now and serves the text until another program copies.
    Kept,
    /// The clipboard holds something else (a later copy elsewhere): left alone.
    Skipped,
    /// It could not (no display, no clipboard): why.
    Failed(String),
}

impl Answer {
    fn line(&self) -> String {
        match self {
            Answer::Kept => "kept".to_owned(),
            Answer::Skipped => "skipped".to_owned(),
            Answer::Failed(why) => format!("failed: {why}"),
        }
    }

    fn parse(line: &str) -> Answer {
        match line.trim_end() {
            "kept" => Answer::Kept,
            "skipped" => Answer::Skipped,
            other => Answer::Failed(
                other
                    .strip_prefix("failed: ")
                    .unwrap_or("the clipboard keeper gave no answer")
                    .to_owned(),
            ),
        }
    }
}

/// Whether the helper takes the clipboard: only while it still holds exactly the app's copy
/// (`current` is what it holds now, `None` when it holds no text or nobody serves it).
pub fn should_keep(current: Option<&str>, ours: &str) -> bool {
    !ours.is_empty() && current == Some(ours)
}

/// Hands `text` to a new helper, `command` (this binary) run as `clipboard-keeper` in its own
/// process group (so a terminal's Ctrl+C or hang-up aimed at the app leaves it be), and waits,
/// at most [`ANSWER_DEADLINE`], for its answer. Called while the window still serves the copy.
pub fn hand_over(mut command: std::process::Command, text: &str) -> std::io::Result<Answer> {
    command
        .arg("clipboard-keeper")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes())?;
    } // dropped: end of input
    let Some(stdout) = child.stdout.take() else {
        return Ok(Answer::Failed("no pipe to the clipboard keeper".to_owned()));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).ok();
        tx.send(line).ok();
    });
    // Not waited for: it runs until another program copies, past this process's exit.
    drop(child);
    Ok(match rx.recv_timeout(ANSWER_DEADLINE) {
        Ok(line) => Answer::parse(&line),
        Err(_) => Answer::Failed(format!("no answer within {ANSWER_DEADLINE:?}")),
    })
}

/// The `clipboard-keeper` command: reads the text from stdin, says on stdout whether it keeps it
/// ([`Answer`]), and if so serves it until another program takes the clipboard.
pub fn run() -> ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::stdin()
        .take(MAX_TEXT_BYTES)
        .read_to_string(&mut text)
    {
        return answer(&Answer::Failed(format!("cannot read the text: {e}")));
    }
    serve(text)
}

/// Writes the answer line; the exit code follows it.
fn answer(answer: &Answer) -> ExitCode {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", answer.line()).ok();
    out.flush().ok();
    match answer {
        Answer::Failed(_) => ExitCode::FAILURE,
        Answer::Kept | Answer::Skipped => ExitCode::SUCCESS,
    }
}

#[cfg(target_os = "linux")]
fn serve(text: String) -> ExitCode {
    use arboard::SetExtLinux as _;
    let mut clipboard = match arboard::Clipboard::new() {
        Ok(c) => c,
        Err(e) => return answer(&Answer::Failed(format!("no clipboard: {e}"))),
    };
    let current = clipboard.get_text().ok();
    if !should_keep(current.as_deref(), &text) {
        return answer(&Answer::Skipped);
    }
    answer(&Answer::Kept);
    // Blocks until another program owns the clipboard (or the display goes away).
    match clipboard.set().wait().text(text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// Elsewhere the clipboard outlives the program that copied: nothing to keep.
#[cfg(not(target_os = "linux"))]
fn serve(_text: String) -> ExitCode {
    answer(&Answer::Skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_while_the_clipboard_still_holds_the_copy() {
        assert!(should_keep(
            Some("https://i.groupme.com/a"),
            "https://i.groupme.com/a"
        ));
        assert!(
            !should_keep(Some("copied later elsewhere"), "https://i.groupme.com/a"),
            "a later copy in another program is never overwritten"
        );
        assert!(
            !should_keep(None, "https://i.groupme.com/a"),
            "a picture copied elsewhere, or nobody serving"
        );
        assert!(!should_keep(Some(""), ""), "nothing to keep");
    }

    #[test]
    fn answers_read_back_as_written() {
        for a in [
            Answer::Kept,
            Answer::Skipped,
            Answer::Failed("no clipboard: X11 server connection timed out".to_owned()),
        ] {
            assert_eq!(Answer::parse(&format!("{}\n", a.line())), a);
        }
        assert_eq!(
            Answer::parse(""),
            Answer::Failed("the clipboard keeper gave no answer".to_owned())
        );
    }
}
