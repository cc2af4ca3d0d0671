//! Our client against our server, for every mechanism and both credential kinds.

use super::{both_bindings, fast_creds, run};
use crate::{
    ChannelBindings, ClientSession, Credentials, DigestMd5Params, Failure, Mechanism,
    ScramCredentials, ServerSession,
};

fn login(
    mech: Mechanism,
    client_bindings: ChannelBindings,
    server_bindings: ChannelBindings,
    username: &str,
    authzid: Option<&str>,
    creds: Credentials,
) -> Result<(String, Option<String>), Failure> {
    let mut client =
        ClientSession::new(mech, username, "s3cret pässwörd", authzid, client_bindings)?;
    let mut server = ServerSession::new(mech, server_bindings, DigestMd5Params::default());
    run(&mut client, &mut server, |_| Some(creds.clone()))
}

fn matching_creds(mech: Mechanism) -> Credentials {
    match mech.scram_hash() {
        Some(hash) => fast_creds(hash, "s3cret pässwörd"),
        None => Credentials::Password("s3cret pässwörd".into()),
    }
}

#[test]
fn every_mechanism_with_matching_credentials() {
    for mech in Mechanism::ALL {
        let bindings = if mech.is_plus() {
            both_bindings()
        } else {
            ChannelBindings::none()
        };
        let result = login(
            mech,
            bindings.clone(),
            bindings,
            "juliet",
            None,
            matching_creds(mech),
        );
        assert_eq!(result, Ok(("juliet".into(), None)), "{mech}");
    }
}

#[test]
fn every_mechanism_with_plaintext_password() {
    // Router configs hold plaintext passwords; SCRAM derives a record on the fly.
    for mech in Mechanism::ALL {
        let bindings = if mech.is_plus() {
            both_bindings()
        } else {
            ChannelBindings::none()
        };
        let creds = Credentials::Password("s3cret pässwörd".into());
        let result = login(mech, bindings.clone(), bindings, "juliet", None, creds);
        assert_eq!(result, Ok(("juliet".into(), None)), "{mech}");
    }
}

#[test]
fn plus_with_each_binding_type() {
    let exporter_only = ChannelBindings {
        tls_exporter: Some(vec![1; 32]),
        tls_server_end_point: None,
    };
    let endpoint_only = ChannelBindings {
        tls_exporter: None,
        tls_server_end_point: Some(vec![2; 48]),
    };
    for mech in [
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha512Plus,
    ] {
        for (client, server) in [
            (exporter_only.clone(), exporter_only.clone()),
            (endpoint_only.clone(), endpoint_only.clone()),
            // The client prefers tls-exporter; a server with both accepts either.
            (
                exporter_only.clone(),
                both_bindings_with(&exporter_only, &endpoint_only),
            ),
            (
                endpoint_only.clone(),
                both_bindings_with(&exporter_only, &endpoint_only),
            ),
        ] {
            let result = login(mech, client, server, "romeo", None, matching_creds(mech));
            assert_eq!(result, Ok(("romeo".into(), None)), "{mech}");
        }
    }
}

fn both_bindings_with(a: &ChannelBindings, b: &ChannelBindings) -> ChannelBindings {
    ChannelBindings {
        tls_exporter: a.tls_exporter.clone(),
        tls_server_end_point: b.tls_server_end_point.clone(),
    }
}

#[test]
fn authzid_is_reported() {
    for mech in Mechanism::ALL {
        let bindings = if mech.is_plus() {
            both_bindings()
        } else {
            ChannelBindings::none()
        };
        let result = login(
            mech,
            bindings.clone(),
            bindings,
            "admin",
            Some("juliet@example.com"),
            matching_creds(mech),
        );
        assert_eq!(
            result,
            Ok(("admin".into(), Some("juliet@example.com".into()))),
            "{mech}"
        );
    }
}

#[test]
fn scram_username_escaping() {
    // ',' and '=' must be escaped as =2C and =3D on the wire and come back intact.
    for mech in [
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
    ] {
        let result = login(
            mech,
            ChannelBindings::none(),
            ChannelBindings::none(),
            "a,b=c",
            Some("x=,y"),
            matching_creds(mech),
        );
        assert_eq!(result, Ok(("a,b=c".into(), Some("x=,y".into()))), "{mech}");
    }
    let mut client = ClientSession::new(
        Mechanism::ScramSha256,
        "a,b=c",
        "p",
        Some("x=,y"),
        ChannelBindings::none(),
    )
    .expect("client");
    let first =
        String::from_utf8(client.initial_response().expect("initial response")).expect("utf-8");
    assert!(first.starts_with("n,a=x=3D=2Cy,n=a=2Cb=3Dc,r="), "{first}");
}

#[test]
fn username_is_saslprepped() {
    // U+00A0 (no-break space) maps to a space; U+00AD (soft hyphen) maps to nothing.
    for mech in [Mechanism::Plain, Mechanism::ScramSha256] {
        let result = login(
            mech,
            ChannelBindings::none(),
            ChannelBindings::none(),
            "jul\u{ad}iet\u{a0}x",
            None,
            matching_creds(mech),
        );
        assert_eq!(result, Ok(("juliet x".into(), None)), "{mech}");
    }
}

#[test]
fn generated_credentials_work_and_use_min_iterations() {
    let creds =
        ScramCredentials::generate(crate::ScramHash::Sha256, "pencil", 10).expect("generate");
    assert_eq!(creds.iterations, crate::MIN_ITERATIONS);
    assert_eq!(creds.salt.len(), 16);
    let other =
        ScramCredentials::generate(crate::ScramHash::Sha256, "pencil", 4096).expect("generate");
    assert_ne!(creds.salt, other.salt);
    let mut client = ClientSession::new(
        Mechanism::ScramSha256,
        "u",
        "pencil",
        None,
        ChannelBindings::none(),
    )
    .expect("client");
    let mut server = ServerSession::new(
        Mechanism::ScramSha256,
        ChannelBindings::none(),
        DigestMd5Params::default(),
    );
    assert_eq!(
        run(&mut client, &mut server, |_| Some(Credentials::Scram(
            creds.clone()
        ))),
        Ok(("u".into(), None))
    );
}

#[test]
fn plain_against_every_scram_record() {
    for hash in [
        crate::ScramHash::Sha1,
        crate::ScramHash::Sha256,
        crate::ScramHash::Sha512,
    ] {
        let result = login(
            Mechanism::Plain,
            ChannelBindings::none(),
            ChannelBindings::none(),
            "juliet",
            None,
            fast_creds(hash, "s3cret pässwörd"),
        );
        assert_eq!(result, Ok(("juliet".into(), None)), "{hash:?}");
    }
}

#[test]
fn server_without_initial_response_sends_empty_challenge() {
    // Clients that omit the initial response get an empty challenge and answer it.
    for mech in [Mechanism::Plain, Mechanism::ScramSha256] {
        let mut client = ClientSession::new(mech, "juliet", "pw", None, ChannelBindings::none())
            .expect("client");
        let mut server =
            ServerSession::new(mech, ChannelBindings::none(), DigestMd5Params::default());
        assert_eq!(server.step(None), crate::Step::Challenge(Vec::new()));
        let first = client
            .step(&[])
            .expect("client answers")
            .expect("with data");
        let crate::Step::NeedCredentials { username } = server.step(Some(&first)) else {
            panic!("{mech}: expected NeedCredentials");
        };
        assert_eq!(username, "juliet");
    }
}

#[test]
fn digest_md5_custom_uri_and_host_check() {
    let params = DigestMd5Params::new("jabberd-router", "jabberd-router");
    let creds = || Some(Credentials::Password("secret".into()));

    let mut client = ClientSession::new(
        Mechanism::DigestMd5,
        "sm",
        "secret",
        None,
        ChannelBindings::none(),
    )
    .expect("client")
    .with_digest_uri("jabberd-router", "router.example");
    let mut server = ServerSession::new(
        Mechanism::DigestMd5,
        ChannelBindings::none(),
        params.clone(),
    )
    .with_digest_host("ROUTER.example");
    assert_eq!(
        run(&mut client, &mut server, |_| creds()),
        Ok(("sm".into(), None))
    );

    let mut client = ClientSession::new(
        Mechanism::DigestMd5,
        "sm",
        "secret",
        None,
        ChannelBindings::none(),
    )
    .expect("client")
    .with_digest_uri("jabberd-router", "elsewhere.example");
    let mut server = ServerSession::new(
        Mechanism::DigestMd5,
        ChannelBindings::none(),
        params.clone(),
    )
    .with_digest_host("router.example");
    assert_eq!(
        run(&mut client, &mut server, |_| creds()),
        Err(Failure::NotAuthorized)
    );

    let mut client = ClientSession::new(
        Mechanism::DigestMd5,
        "sm",
        "secret",
        None,
        ChannelBindings::none(),
    )
    .expect("client")
    .with_digest_uri("xmpp", "router.example");
    let mut server = ServerSession::new(Mechanism::DigestMd5, ChannelBindings::none(), params);
    assert_eq!(
        run(&mut client, &mut server, |_| creds()),
        Err(Failure::NotAuthorized)
    );
}

#[test]
fn digest_md5_accepts_gsasl_style_response() {
    // GNU SASL (jabberd2) orders directives differently, may upper-case hex, and uses LWS.
    use crate::digest_md5::compute::DigestInput;
    let mut server = ServerSession::new(
        Mechanism::DigestMd5,
        ChannelBindings::none(),
        DigestMd5Params::default(),
    );
    server.fix_nonce("abc");
    assert!(matches!(server.step(Some(b"")), crate::Step::Challenge(_)));
    let input = DigestInput {
        username: "c2s",
        realm: "jabberd-router",
        password: "secret",
        nonce: "abc",
        cnonce: "xyz",
        nc: "00000001",
        digest_uri: "jabberd-router/myhost",
        authzid: None,
    };
    let response = format!(
        "username=\"c2s\", realm=\"jabberd-router\", nonce=\"abc\", cnonce=\"xyz\", nc=00000001, qop=auth, \
         digest-uri=\"jabberd-router/myhost\", response={}, charset=utf-8",
        input.response().to_ascii_uppercase()
    );
    assert_eq!(
        server.step(Some(response.as_bytes())),
        crate::Step::NeedCredentials {
            username: "c2s".into()
        }
    );
    assert_eq!(
        server.provide(Some(Credentials::Password("secret".into()))),
        crate::Step::Challenge(format!("rspauth={}", input.rspauth()).into_bytes())
    );
}

#[test]
fn digest_md5_latin1_password() {
    // Non-ASCII but ISO 8859-1 passwords are hashed in ISO 8859-1 on both sides.
    let mut client = ClientSession::new(
        Mechanism::DigestMd5,
        "jörg",
        "pässwörd",
        None,
        ChannelBindings::none(),
    )
    .expect("client");
    let mut server = ServerSession::new(
        Mechanism::DigestMd5,
        ChannelBindings::none(),
        DigestMd5Params::default(),
    );
    let result = run(&mut client, &mut server, |_| {
        Some(Credentials::Password("pässwörd".into()))
    });
    assert_eq!(result, Ok(("jörg".into(), None)));
}
