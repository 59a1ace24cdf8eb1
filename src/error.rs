//! One error type for the surfaces (the wasm `Session`, the CLI): a kind a
//! program can match on and a sentence a person can act on. On the web the
//! kind becomes the JS `Error`'s `name`, so the page never parses messages.

use crate::backend::BackendError;
use crate::config::ConfigError;
use crate::data::DataError;
use std::fmt;

/// What went wrong, coarsely: what the caller can do about it differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A setting out of range, an unknown key or preset.
    InvalidConfig,
    /// Malformed or truncated data or checkpoint.
    BadFile,
    /// The GPU API gave no adapter or device.
    NoAdapter,
    /// The GPU device was lost.
    DeviceLost,
    /// Over the device's memory or buffer limits.
    OutOfMemory,
    /// Training produced non-finite or exploding values.
    Diverged,
    /// Anything else (a GPU validation error, a bug).
    Internal,
}

impl ErrorKind {
    /// The name JS sees as `err.name`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "InvalidConfig",
            ErrorKind::BadFile => "BadFile",
            ErrorKind::NoAdapter => "NoAdapter",
            ErrorKind::DeviceLost => "DeviceLost",
            ErrorKind::OutOfMemory => "OutOfMemory",
            ErrorKind::Diverged => "Diverged",
            ErrorKind::Internal => "Internal",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidConfig, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::new(ErrorKind::InvalidConfig, e.0)
    }
}

impl From<DataError> for Error {
    fn from(e: DataError) -> Error {
        Error::new(ErrorKind::BadFile, e.to_string())
    }
}

impl From<BackendError> for Error {
    fn from(e: BackendError) -> Error {
        let kind = match e {
            BackendError::NoAdapter(_) => ErrorKind::NoAdapter,
            BackendError::DeviceLost(_) => ErrorKind::DeviceLost,
            BackendError::OutOfMemory(_) => ErrorKind::OutOfMemory,
            BackendError::Gpu(_) => ErrorKind::Internal,
        };
        Error::new(kind, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointError;

    #[test]
    fn each_source_error_maps_to_its_kind_and_keeps_its_sentence() {
        let cases: [(Error, ErrorKind, &str); 7] = [
            (
                ConfigError("beta 11 is out of range".into()).into(),
                ErrorKind::InvalidConfig,
                "beta 11",
            ),
            (
                DataError::Empty { file: "f".into() }.into(),
                ErrorKind::BadFile,
                "f: the file is empty",
            ),
            (
                CheckpointError("no config".into()).into(),
                ErrorKind::BadFile,
                "cannot load checkpoint: no config",
            ),
            (
                BackendError::NoAdapter("none".into()).into(),
                ErrorKind::NoAdapter,
                "no GPU adapter",
            ),
            (
                BackendError::DeviceLost("reset".into()).into(),
                ErrorKind::DeviceLost,
                "device was lost",
            ),
            (
                BackendError::OutOfMemory("4 GB".into()).into(),
                ErrorKind::OutOfMemory,
                "out of GPU memory: 4 GB",
            ),
            (
                BackendError::Gpu("validation".into()).into(),
                ErrorKind::Internal,
                "GPU error: validation",
            ),
        ];
        for (err, kind, text) in cases {
            assert_eq!(err.kind, kind, "{err}");
            assert!(err.message.contains(text), "{err}");
            assert_eq!(format!("{:?}", err.kind), kind.name());
        }
    }
}
