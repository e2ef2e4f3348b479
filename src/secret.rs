//! Secrets (passwords, SNMP communities, IPMI Kg keys).
//!
//! A [`Secret`] cannot be printed: it has no `Display`, and its `Debug` shows a fixed
//! placeholder, so a secret cannot leak through `{:?}` in an error or a log line. The bytes
//! are wiped when the value is dropped. Secrets reach an agent through stdin, a file, or the
//! output of `password_script`, never through any process's argv.

use std::fmt;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(Zeroizing::new(bytes.into()))
    }

    /// The raw bytes, for the protocol code that must use them (HMAC keys, logins).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a secret from a file, dropping one trailing newline (files written by `echo`).
    /// The error names the file, never its content.
    pub fn from_file(path: &Path) -> Result<Secret, String> {
        let mut buf = Zeroizing::new(Vec::new());
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|e| format!("cannot read secret file {}: {}", path.display(), e))?;
        Ok(Secret::new(trim_line_end(&buf)))
    }

    /// The first line of a file, without its line end: fence agents' `password_file` (the
    /// metadata says "first line"; a file may carry a comment or a second secret after it).
    /// The error names the file, never its content.
    pub fn first_line_of_file(path: &Path) -> Result<Secret, String> {
        let whole = Secret::from_file(path)?;
        let first = whole.0.split(|b| *b == b'\n').next().unwrap_or(&[]);
        Ok(Secret::new(trim_line_end(first)))
    }

    /// Runs `script` through `/bin/sh -c` (the fence-agents convention for `password_script`)
    /// and takes the first line of its stdout without trailing white space: fencing.py
    /// `rstrip()`s the output, so `echo 'pw '` and `printf 'pw\r\n'` give `pw` there too. The
    /// script text itself is configuration, not a secret; its output never appears in argv or
    /// error text.
    pub fn from_script(script: &str, timeout: std::time::Duration) -> Result<Secret, String> {
        let out = crate::process::run_captured(
            std::process::Command::new("/bin/sh").arg("-c").arg(script),
            timeout,
        )
        .map_err(|e| format!("password_script failed: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "password_script exited with {}",
                out.status
                    .code()
                    .map_or_else(|| "a signal".to_string(), |c| c.to_string())
            ));
        }
        let stdout = Zeroizing::new(out.stdout);
        let first = stdout.split(|b| *b == b'\n').next().unwrap_or(&[]);
        let end = first
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        Ok(Secret::new(first[..end].to_vec()))
    }
}

fn trim_line_end(bytes: &[u8]) -> Vec<u8> {
    let mut end = bytes.len();
    while end > 0 && (bytes[end - 1] == b'\n' || bytes[end - 1] == b'\r') {
        end -= 1;
    }
    bytes[..end].to_vec()
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_content() {
        let s = Secret::from("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), b"hunter2");
    }

    #[test]
    fn file_drops_trailing_newline_only() {
        let dir = std::env::temp_dir().join(format!("bulwark-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("pw");
        std::fs::write(&p, "p a ss\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), b"p a ss");
        std::fs::write(&p, "first \r\nsecond\n").unwrap();
        assert_eq!(Secret::first_line_of_file(&p).unwrap().expose(), b"first ");
        std::fs::write(&p, "").unwrap();
        assert_eq!(Secret::first_line_of_file(&p).unwrap().expose(), b"");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn script_output_first_line() {
        let s = Secret::from_script(
            "printf 'abc\\nignored\\n'",
            std::time::Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(s.expose(), b"abc");
        let s = Secret::from_script(
            "printf ' p w \\t \\r\\n'",
            std::time::Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(s.expose(), b" p w");
        let err = Secret::from_script("exit 3", std::time::Duration::from_secs(5)).unwrap_err();
        assert!(err.contains("exited with 3"), "{err}");
    }
}
