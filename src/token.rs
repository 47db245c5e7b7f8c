//! The access token: a secret that is never printed, logged or put in a URL.

use std::fmt;

/// An access token. `Debug` and `Display` show it masked; only [`Token::expose`] gives the text,
/// and the only caller that should use it is the code that writes the `X-Access-Token` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token, trimming surrounding whitespace (a pasted token often ends in a newline).
    /// Returns `None` when nothing is left.
    pub fn new(text: impl Into<String>) -> Option<Token> {
        let text = text.into();
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| Token(trimmed.to_owned()))
    }

    /// The token's text, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A masked form for display: the last 4 characters, the rest hidden.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() <= 8 {
            return "•".repeat(8);
        }
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{}{tail}", "•".repeat(8))
    }
}

/// The OS's random source failed, so no token can be made (a token of zeros would be guessable).
#[derive(Debug, thiserror::Error)]
#[error("cannot make a random token: the system's random source failed ({0})")]
pub struct RandomError(getrandom::Error);

impl Token {
    /// A random token from the OS's random source (what `serve` and the app's embedded service
    /// accept when none is configured).
    pub fn generate() -> Result<Token, RandomError> {
        Token::random_with(getrandom::fill)
    }

    /// A random token: 32 hex characters from `fill` (the OS's random source in
    /// production), or an error when it fails: never a predictable token.
    pub fn random_with(
        fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    ) -> Result<Token, RandomError> {
        let mut raw = [0u8; 16];
        fill(&mut raw).map_err(RandomError)?;
        Ok(Token(hex::encode(raw)))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", self.masked())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_the_secret() {
        let t = Token::new(" s3cretTokenValue42\n").expect("token");
        assert_eq!(t.expose(), "s3cretTokenValue42");
        for shown in [format!("{t:?}"), format!("{t}"), t.masked()] {
            assert!(!shown.contains("s3cretToken"), "{shown}");
        }
        assert!(t.masked().ends_with("ue42"));
        let short = Token::new("abc").expect("token");
        assert!(!format!("{short:?}").contains("abc"));
        assert!(Token::new("  \n").is_none());
    }

    #[test]
    fn a_failed_random_source_gives_no_token() {
        let err = Token::random_with(|_| Err(getrandom::Error::UNEXPECTED)).expect_err("no token");
        assert!(
            err.to_string()
                .starts_with("cannot make a random token: the system's random source failed"),
            "{err}"
        );
        let t = Token::random_with(|raw| {
            raw.fill(0xab);
            Ok(())
        })
        .expect("token");
        assert_eq!(t.expose(), "ab".repeat(16));
        let real = Token::random_with(getrandom::fill).expect("os random");
        assert_eq!(real.expose().len(), 32);
    }
}
