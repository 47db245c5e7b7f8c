//! Desktop notifications: the freedesktop Notifications service on the session bus, through
//! notify-rust's pure-Rust zbus backend. Sent from the tokio side with a deadline, never from the
//! UI thread; where there is no session bus or no notification server, nothing is shown and the
//! error goes to the debug log only. What is said, and when, is [`crate::batch`]'s.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::batch::Message;

/// How long a notification server may take to answer.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Why nothing was shown.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("no notification server: {0}")]
    Unavailable(String),
    #[error("the notification server did not answer within {0:?}")]
    Timeout(Duration),
}

/// Where the app's notifications go: the desktop's ([`DesktopNotifier`]), or in tests a
/// recorder (never the person's desktop).
pub trait Notifier: Send + Sync {
    /// Shows `message`; errors are the notifier's to log.
    fn notify(&self, message: Message) -> BoxFuture<'static, ()>;
}

/// The session bus's notification server.
pub struct DesktopNotifier;

impl Notifier for DesktopNotifier {
    fn notify(&self, message: Message) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Err(e) = show(&message).await {
                tracing::debug!("notification not shown: {e}");
            }
        })
    }
}

/// Sends `message` to the notification server on this process's session bus
/// (`DBUS_SESSION_BUS_ADDRESS`), from the app "GroupMe Uploader" with its icon; returns the
/// server's id for it.
#[cfg(target_os = "linux")]
pub async fn show(message: &Message) -> Result<u32, NotifyError> {
    let mut notification = notify_rust::Notification::new();
    notification
        .appname("GroupMe Uploader")
        .icon(crate::gui::APP_ID)
        .summary(&message.summary)
        .body(&message.body);
    match tokio::time::timeout(DEADLINE, notification.show_async()).await {
        Ok(Ok(handle)) => Ok(handle.id()),
        Ok(Err(e)) => Err(NotifyError::Unavailable(e.to_string())),
        Err(_) => Err(NotifyError::Timeout(DEADLINE)),
    }
}

/// Elsewhere: no notifications yet.
#[cfg(not(target_os = "linux"))]
pub async fn show(_message: &Message) -> Result<u32, NotifyError> {
    Err(NotifyError::Unavailable(
        "not on this operating system".into(),
    ))
}
