//! The command line: arguments parsed into settings in one place, then dispatched.
//!
//! - `upload`, `send`, `chats`, `serve`: one command each.
//! - `args`: the options several commands take (token, Image Service, GroupMe API), written once.

mod args;
mod chats;
mod send;
mod serve;
mod upload;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use args::{ApiArg, ServiceArgs, TokenArg};
pub use chats::ChatsArgs;
pub use send::SendArgs;
pub use serve::ServeArgs;
pub use upload::UploadArgs;

/// Upload images to the GroupMe Image CDN. With no command, opens the desktop window.
#[derive(Debug, Parser)]
#[command(name = "groupme-uploader", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload image files and mirror remote image URLs; prints one line per item.
    Upload(UploadArgs),
    /// Run the local image service (the GroupMe Image Service API with real thumbnails).
    Serve(ServeArgs),
    /// Open the desktop window (the default), queueing any files or URLs given.
    Gui(crate::gui::GuiArgs),
    /// Send pictures to a GroupMe group, direct chat or bot, uploading them first when needed.
    Send(SendArgs),
    /// List the groups, direct chats and bots pictures can be sent to, with their ids.
    Chats(ChatsArgs),
    /// Started by the window as it closes: serves its last copy (read from stdin) on the
    /// clipboard until another program copies (see `crate::clipboard_keeper`).
    #[command(hide = true)]
    ClipboardKeeper,
}

/// Exit code for usage errors, as clap uses.
pub const USAGE_ERROR: u8 = 2;

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or(Command::Gui(crate::gui::GuiArgs::default()));
    if let Command::ClipboardKeeper = command {
        // Long-lived and idle: no runtime, no logging.
        return crate::clipboard_keeper::run();
    }
    if let Command::Gui(_) = command {
        // Before the runtime's threads: the window's memory (see `allocator`).
        crate::allocator::limit_arenas();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Upload(args) => runtime.block_on(upload::run(args)),
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Gui(args) => crate::gui::run(args, &runtime),
        Command::Send(args) => runtime.block_on(send::run(args)),
        Command::Chats(args) => runtime.block_on(chats::run(args)),
        Command::ClipboardKeeper => crate::clipboard_keeper::run(),
    }
}
