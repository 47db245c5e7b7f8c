//! Options more than one command takes, each written once (help text, variable, default,
//! range) and flattened into the commands' arguments; and what they build.

use crate::client::{Client, ClientConfig, DEFAULT_ENDPOINT, UploadError};
use crate::groupme::{ApiClient, ApiConfig, ApiError, DEFAULT_API_ENDPOINT};
use crate::token::Token;

/// What a missing token costs, and where to get one.
pub(super) const NO_TOKEN: &str = "no access token. Set GM_TOKEN (or pass --token); get yours at \
     https://dev.groupme.com (Access Token, top right).";

/// The access token (`upload`, `send`, `chats`).
#[derive(Debug, clap::Args)]
pub struct TokenArg {
    /// GroupMe access token (prefer the GM_TOKEN variable: arguments show in `ps`).
    #[arg(long, env = "GM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl TokenArg {
    /// The token given, when it is one (not empty, no line breaks).
    pub fn get(&self) -> Option<Token> {
        self.token.clone().and_then(Token::new)
    }
}

/// The Image Service files are uploaded to and links mirrored by, and how often a request is
/// tried (`upload`, `send`).
#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    /// Image Service root URL: files are uploaded to it and links mirrored by it.
    #[arg(long, env = "GM_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// Attempts per request (connect errors, 429 and 5xx are retried with backoff).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,
}

impl ServiceArgs {
    /// A client of that service, sending `token`.
    pub(super) fn client(&self, token: Token) -> Result<Client, UploadError> {
        let mut config = ClientConfig::new(&self.endpoint, token)?;
        config.max_attempts = self.attempts;
        Client::new(config)
    }
}

/// The GroupMe API (`send`, `chats`).
#[derive(Debug, clap::Args)]
pub struct ApiArg {
    /// GroupMe API root URL.
    #[arg(long, env = "GM_API_ENDPOINT", default_value = DEFAULT_API_ENDPOINT)]
    pub api_endpoint: String,
}

impl ApiArg {
    /// A client of the API, sending `token` when there is one, trying each call `attempts`
    /// times.
    pub(super) fn client(
        &self,
        token: Option<Token>,
        attempts: u32,
    ) -> Result<ApiClient, ApiError> {
        let mut config = ApiConfig::new(&self.api_endpoint, token)?;
        config.max_attempts = attempts;
        ApiClient::new(config)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use crate::cli::Cli;

    /// The long options `command --help` lists.
    fn options(command: &str) -> Vec<String> {
        let mut cli = Cli::command();
        let help = cli
            .find_subcommand_mut(command)
            .expect("command")
            .render_long_help()
            .to_string();
        let mut found: Vec<String> = help
            .split_whitespace()
            .filter(|w| w.starts_with("--"))
            .map(|w| w.trim_end_matches([',', '.', ')']).to_owned())
            .collect();
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn shared_options_are_listed_by_each_command_with_one_help_text() {
        assert_eq!(
            options("upload"),
            [
                "--attempts",
                "--concurrency",
                "--endpoint",
                "--format",
                "--help",
                "--json",
                "--token"
            ]
        );
        assert_eq!(
            options("send"),
            [
                "--api-endpoint",
                "--attempts",
                "--bot",
                "--dm",
                "--endpoint",
                "--group",
                "--help",
                "--json",
                "--text",
                "--token"
            ]
        );
        assert_eq!(
            options("chats"),
            ["--api-endpoint", "--help", "--json", "--token"]
        );
        let mut cli = Cli::command();
        let upload = cli
            .find_subcommand_mut("upload")
            .expect("upload")
            .render_long_help()
            .to_string();
        let send = cli
            .find_subcommand_mut("send")
            .expect("send")
            .render_long_help()
            .to_string();
        for line in [
            "Attempts per request",
            "Image Service root URL",
            "[default: 4]",
        ] {
            assert!(upload.contains(line) && send.contains(line), "{line}");
        }
    }
}
