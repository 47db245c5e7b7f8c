//! Options more than one command takes, each written once (help text, variable, default,
//! range) and flattened into the commands' arguments; and what they build.

use crate::client::{Client, ClientConfig, DEFAULT_ENDPOINT, UploadError};
use crate::downscale::{BeforeUpload, MAX_SIDE, MIN_SIDE};
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

/// What is done to files before upload (`upload`, `send`): the window's before-upload options.
/// Off unless asked for; links (mirrored by the service) and GIFs or animations are sent as
/// they are.
#[derive(Debug, Default, clap::Args)]
pub struct BeforeUploadArgs {
    /// Downscale pictures whose long side exceeds N pixels (256 to 16384) before upload.
    #[arg(long, value_name = "N", value_parser = parse_max_side, allow_negative_numbers = true)]
    pub max_side: Option<u32>,
    /// Re-encode pictures larger than M megabytes as JPEG (those with transparency keep their
    /// format).
    #[arg(long, value_name = "M", value_parser = parse_mb, allow_negative_numbers = true)]
    pub reencode_above_mb: Option<f32>,
    /// JPEG quality (1 to 100) of the pictures --max-side or --reencode-above-mb write
    /// [default: 85].
    #[arg(long, value_name = "Q", value_parser = parse_quality, allow_negative_numbers = true)]
    pub jpeg_quality: Option<u8>,
}

impl BeforeUploadArgs {
    /// The options these flags ask for, or why they make no sense together.
    pub fn options(&self) -> Result<BeforeUpload, String> {
        if self.jpeg_quality.is_some()
            && self.max_side.is_none()
            && self.reencode_above_mb.is_none()
        {
            return Err(
                "--jpeg-quality applies only with --max-side or --reencode-above-mb".to_owned(),
            );
        }
        let default = BeforeUpload::default();
        Ok(BeforeUpload {
            downscale: self.max_side.is_some(),
            max_side: self.max_side.unwrap_or(default.max_side),
            reencode: self.reencode_above_mb.is_some(),
            jpeg_quality: self.jpeg_quality.unwrap_or(default.jpeg_quality),
            reencode_above_mb: self.reencode_above_mb.unwrap_or(default.reencode_above_mb),
        })
    }
}

fn parse_max_side(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (MIN_SIDE..=MAX_SIDE).contains(n))
        .ok_or_else(|| {
            format!("the long side must be a whole number of pixels from {MIN_SIDE} to {MAX_SIDE}")
        })
}

fn parse_quality(text: &str) -> Result<u8, String> {
    text.trim()
        .parse::<u8>()
        .ok()
        .filter(|q| (1..=100).contains(q))
        .ok_or_else(|| "the JPEG quality must be a whole number from 1 to 100".to_owned())
}

fn parse_mb(text: &str) -> Result<f32, String> {
    text.trim()
        .parse::<f32>()
        .ok()
        .filter(|mb| mb.is_finite() && *mb > 0.0 && *mb <= 1000.0)
        .ok_or_else(|| {
            "the size must be a number of megabytes above 0 (e.g. 2 or 0.5), at most 1000"
                .to_owned()
        })
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
                "--jpeg-quality",
                "--json",
                "--max-side",
                "--reencode-above-mb",
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
                "--jpeg-quality",
                "--json",
                "--max-side",
                "--reencode-above-mb",
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
            "Downscale pictures whose long side exceeds N pixels",
            "Image Service root URL",
            "[default: 4]",
        ] {
            assert!(upload.contains(line) && send.contains(line), "{line}");
        }
    }

    #[test]
    fn before_upload_flags_are_off_by_default_and_checked() {
        use super::BeforeUploadArgs;
        use crate::downscale::BeforeUpload;
        use clap::Parser as _;

        let none = BeforeUploadArgs::default().options().expect("none");
        assert_eq!(none, BeforeUpload::default());
        assert!(!none.is_on());
        let parse = |args: &[&str]| {
            let mut all = vec!["groupme-uploader", "upload"];
            all.extend_from_slice(args);
            all.push("x.jpg");
            Cli::try_parse_from(all)
        };
        let Ok(Cli {
            command: Some(crate::cli::Command::Upload(args)),
        }) = parse(&["--max-side", "1024", "--jpeg-quality", "70"])
        else {
            panic!("parses");
        };
        assert_eq!(
            args.before_upload.options(),
            Ok(BeforeUpload {
                downscale: true,
                max_side: 1024,
                jpeg_quality: 70,
                ..BeforeUpload::default()
            })
        );
        for (args, says) in [
            (["--max-side", "0"], "from 256 to 16384"),
            (["--max-side", "-5"], "from 256 to 16384"),
            (["--max-side", "100000"], "from 256 to 16384"),
            (["--jpeg-quality", "101"], "from 1 to 100"),
            (["--jpeg-quality", "0"], "from 1 to 100"),
            (["--reencode-above-mb", "0"], "above 0"),
            (["--reencode-above-mb", "-1.5"], "above 0"),
            (["--reencode-above-mb", "NaN"], "above 0"),
        ] {
            let e = parse(&args).expect_err("refused").to_string();
            assert!(e.contains(args[0]) && e.contains(says), "{args:?}: {e}");
        }
        let Ok(Cli {
            command: Some(crate::cli::Command::Upload(args)),
        }) = parse(&["--jpeg-quality", "70"])
        else {
            panic!("parses");
        };
        assert_eq!(
            args.before_upload.options(),
            Err("--jpeg-quality applies only with --max-side or --reencode-above-mb".to_owned())
        );
    }
}
