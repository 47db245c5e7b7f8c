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
}
