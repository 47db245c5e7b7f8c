//! `groupme-uploader chats`: where pictures can be sent — my groups, direct chats and bots, with
//! the ids `send --group`, `--dm` and `--bot` take.

use std::collections::HashMap;
use std::process::ExitCode;

use super::args::{ApiArg, NO_TOKEN, TokenArg};
use crate::groupme::ApiError;

/// Arguments of `chats`.
#[derive(Debug, clap::Args)]
pub struct ChatsArgs {
    /// Print one JSON object per line (`kind`, `id`, `name`, and a bot's `group_id`).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub api: ApiArg,
    #[command(flatten)]
    pub token: TokenArg,
}

/// One line of output: `kind` is the `send` flag that takes `id`.
#[derive(Debug, serde::Serialize)]
struct Line<'a> {
    kind: &'static str,
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<&'a str>,
}

/// Runs `chats`; exit 0 when all three lists were read, 1 when one failed (what was read before
/// is printed), 2 on usage errors.
pub async fn run(args: ChatsArgs) -> ExitCode {
    // Retries (a 429's wait, a 5xx) are said as they happen; nothing else logs at this level.
    crate::logging::init("warn");
    let Some(token) = args.token.get() else {
        eprintln!("error: {NO_TOKEN}");
        return ExitCode::from(super::USAGE_ERROR);
    };
    let api = match args.api.client(Some(token), 4) {
        Ok(api) => api,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::USAGE_ERROR);
        }
    };
    let mut errors: Vec<ApiError> = Vec::new();
    // What fails one list (the token, the network, GroupMe itself) fails the next alike: stop at
    // the first error, so it is said once.
    let groups = keep(api.groups().await, &mut errors);
    let chats = if errors.is_empty() {
        keep(api.chats().await, &mut errors)
    } else {
        Vec::new()
    };
    let bots = if errors.is_empty() {
        keep(api.bots().await, &mut errors)
    } else {
        Vec::new()
    };
    let names: HashMap<&str, &str> = groups
        .iter()
        .map(|g| (g.id.as_str(), g.name.as_str()))
        .collect();
    let mut lines: Vec<Line<'_>> = Vec::new();
    lines.extend(groups.iter().map(|g| Line {
        kind: "group",
        id: &g.id,
        name: &g.name,
        group_id: None,
    }));
    lines.extend(chats.iter().map(|c| Line {
        kind: "dm",
        id: &c.user_id,
        name: &c.name,
        group_id: None,
    }));
    lines.extend(bots.iter().map(|b| Line {
        kind: "bot",
        id: &b.bot_id,
        name: &b.name,
        group_id: Some(&b.group_id),
    }));
    for line in &lines {
        if args.json {
            println!("{}", serde_json::to_string(line).unwrap_or_default());
        } else {
            let group = line
                .group_id
                .map_or(String::new(), |id| match names.get(id) {
                    Some(name) => format!("\t(in {name}, group {id})"),
                    None => format!("\t(in group {id})"),
                });
            println!("{}\t{}\t{}{group}", line.kind, line.id, line.name);
        }
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The list, or nothing with its error kept for the report.
fn keep<T>(result: Result<Vec<T>, ApiError>, errors: &mut Vec<ApiError>) -> Vec<T> {
    result.unwrap_or_else(|e| {
        errors.push(e);
        Vec::new()
    })
}
