//! groupme-uploader: put images on the GroupMe Image CDN.
//!
//! - [`cdn_url`]: the CDN URL model (pure).
//! - [`probe`]: format sniffing and header dimensions (pure).
//! - [`token`]: the access token as a secret.
//! - [`client`]: the Image Service client.
//! - [`groupme`]: the GroupMe API v3 client (send pictures to groups, direct chats and bots).
//! - [`cli`]: the command line.

pub mod app;
pub mod cdn_url;
pub mod cli;
pub mod client;
pub mod content_id;
pub mod files;
pub mod fuzzing;
pub mod geometry;
pub mod groupme;
pub mod gui;
pub mod history;
pub mod jobs;
pub mod logging;
pub mod metadata;
pub mod plausible;
pub mod preview;
pub mod probe;
pub mod service;
pub mod settings;
pub mod snippet;
pub mod thumbnail;
pub mod token;
pub mod token_store;
pub mod ui;
