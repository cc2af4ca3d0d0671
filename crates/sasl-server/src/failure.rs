//! SASL failure conditions (RFC 6120 §6.5).
//!
//! Every mechanism reports its errors with one of these, so the stream layer can put the
//! condition straight into `<failure/>` without knowing which mechanism ran.

/// RFC 6120 §6.5 SASL failure conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Failure {
    /// The receiving entity acknowledges that the exchange has been aborted.
    #[error("aborted")]
    Aborted,
    /// The account has been disabled.
    #[error("account-disabled")]
    AccountDisabled,
    /// The credentials have expired.
    #[error("credentials-expired")]
    CredentialsExpired,
    /// The mechanism requires a protected (TLS) stream.
    #[error("encryption-required")]
    EncryptionRequired,
    /// The data could not be decoded (bad base64, invalid UTF-8).
    #[error("incorrect-encoding")]
    IncorrectEncoding,
    /// The authzid is not acceptable.
    #[error("invalid-authzid")]
    InvalidAuthzid,
    /// The mechanism is not supported (or cannot be used with the given parameters).
    #[error("invalid-mechanism")]
    InvalidMechanism,
    /// The request violates the mechanism's syntax or protocol.
    #[error("malformed-request")]
    MalformedRequest,
    /// The mechanism is weaker than the server policy allows.
    #[error("mechanism-too-weak")]
    MechanismTooWeak,
    /// The credentials are wrong (or the user does not exist).
    #[error("not-authorized")]
    NotAuthorized,
    /// A temporary server-side error (e.g. no randomness available).
    #[error("temporary-auth-failure")]
    TemporaryAuthFailure,
}

impl Failure {
    /// The element name of the condition, as used inside `<failure/>`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Failure::Aborted => "aborted",
            Failure::AccountDisabled => "account-disabled",
            Failure::CredentialsExpired => "credentials-expired",
            Failure::EncryptionRequired => "encryption-required",
            Failure::IncorrectEncoding => "incorrect-encoding",
            Failure::InvalidAuthzid => "invalid-authzid",
            Failure::InvalidMechanism => "invalid-mechanism",
            Failure::MalformedRequest => "malformed-request",
            Failure::MechanismTooWeak => "mechanism-too-weak",
            Failure::NotAuthorized => "not-authorized",
            Failure::TemporaryAuthFailure => "temporary-auth-failure",
        }
    }

    /// Parses a condition element name, the inverse of [`Failure::as_str`]; useful on the
    /// client side when reading the server's `<failure/>`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "aborted" => Failure::Aborted,
            "account-disabled" => Failure::AccountDisabled,
            "credentials-expired" => Failure::CredentialsExpired,
            "encryption-required" => Failure::EncryptionRequired,
            "incorrect-encoding" => Failure::IncorrectEncoding,
            "invalid-authzid" => Failure::InvalidAuthzid,
            "invalid-mechanism" => Failure::InvalidMechanism,
            "malformed-request" => Failure::MalformedRequest,
            "mechanism-too-weak" => Failure::MechanismTooWeak,
            "not-authorized" => Failure::NotAuthorized,
            "temporary-auth-failure" => Failure::TemporaryAuthFailure,
            _ => return None,
        })
    }
}
