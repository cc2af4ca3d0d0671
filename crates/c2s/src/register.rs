//! In-band registration (XEP-0077): the form and account creation before authentication;
//! password change and account removal within a session.

use jid::BareJid;
use minidom::Element;
use sasl_server::{ScramCredentials, ScramHash, MIN_ITERATIONS};
use storage::StorageError;
use xml_stream::StreamError;

use crate::control::{self, Action};
use crate::limits::is_loopback;
use crate::negotiation::{send, send_error, Fail, Nego, NS_REGISTER};
use crate::sm::{self, SmError};
use crate::stream::ClientStream;
use crate::xml::{iq_result, random_id, text_element};
use crate::{Conn, Ctx};

/// The `username` and `password` fields of a `set`, trimmed of nothing: passwords are exact.
fn fields(query: &Element) -> (Option<String>, Option<String>) {
    let field = |name| query.get_child(name, NS_REGISTER).map(|e| e.text());
    (field("username"), field("password"))
}

/// The account a username names on `domain`, or `None` if it is not a valid localpart.
fn account(username: &str, domain: &str) -> Option<BareJid> {
    if username.is_empty() || username.contains(['@', '/']) {
        return None;
    }
    BareJid::new(&format!("{username}@{domain}"))
        .ok()
        .filter(|j| j.node().is_some())
}

/// SCRAM records for every hash we offer; PBKDF2 is CPU work, kept off the reactor.
async fn credentials(password: String) -> Option<Vec<ScramCredentials>> {
    tokio::task::spawn_blocking(move || {
        [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512]
            .into_iter()
            .map(|h| ScramCredentials::generate(h, &password, MIN_ITERATIONS))
            .collect::<Result<Vec<_>, _>>()
            .ok()
    })
    .await
    .ok()
    .flatten()
}

/// A registration IQ on an unauthenticated stream.
pub async fn pre_auth(
    conn: &mut Conn,
    nego: &Nego,
    stream: &mut ClientStream,
    iq: &Element,
) -> Result<(), Fail> {
    let ctx = conn.ctx.clone();
    let Some(query) = iq.get_child("query", NS_REGISTER) else {
        return send_error(stream, iq, "bad-request").await;
    };
    match iq.attr("type") {
        Some("get") => {
            let mut form = Element::bare("query", NS_REGISTER);
            form.append_child(text_element(
                "instructions",
                NS_REGISTER,
                &nego.host.registration_instructions,
            ));
            form.append_child(Element::bare("username", NS_REGISTER));
            form.append_child(Element::bare("password", NS_REGISTER));
            return send(stream, &iq_result(iq, Some(form))).await;
        }
        Some("set") => {}
        _ => return send_error(stream, iq, "bad-request").await,
    }
    if query.get_child("remove", NS_REGISTER).is_some() {
        // Removing an account needs its owner to be logged in.
        return send_error(stream, iq, "not-authorized").await;
    }
    let (username, password) = fields(query);
    let domain = nego.domain().to_owned();
    let user = username.as_deref().and_then(|u| account(u, &domain));
    let (Some(user), Some(password)) = (user, password.filter(|p| !p.is_empty())) else {
        return send_error(stream, iq, "not-acceptable").await;
    };
    let ip = conn.peer.ip();
    let counted = !(ctx.config.limits.registration_exempt_loopback && is_loopback(ip));
    if counted && !ctx.registrations.allowed(&ip) {
        // XEP-0077 §3.1.1: an entity that registers too many times gets <not-acceptable/>.
        tracing::info!(peer = %conn.peer, "registration refused: rate limit");
        return send_error(stream, iq, "not-acceptable").await;
    }
    let Some(creds) = credentials(password).await else {
        // SASLprep refused the password.
        return send_error(stream, iq, "not-acceptable").await;
    };
    match ctx.storage.create_account(&user, creds).await {
        Ok(()) => {}
        Err(StorageError::Conflict) => return send_error(stream, iq, "conflict").await,
        Err(e) => {
            tracing::error!("creating {user}: {e}");
            return send_error(stream, iq, "internal-server-error").await;
        }
    }
    if counted {
        ctx.registrations.record(&ip);
    }
    // jabberd2: the result goes out only once the sm has created the user's data (`created`).
    let id = random_id();
    let request = control::request(
        Action::Create,
        &conn.sc_id,
        None,
        Some(user.as_str()),
        Some(&id),
    );
    match sm::request(conn, &domain, &domain, request, &id).await {
        Ok((_, reply)) if reply.action == Action::Created && !reply.failed => {
            tracing::info!(peer = %conn.peer, %user, "registered");
            send(stream, &iq_result(iq, None)).await
        }
        outcome => {
            tracing::warn!(%user, ?outcome, "the sm did not create the user; removing the account");
            if let Err(e) = ctx.storage.delete_account(&user).await {
                tracing::error!("removing {user} again: {e}");
            }
            match outcome {
                Err(e @ (SmError::Gone | SmError::Shutdown)) => Err(Fail::Stream(
                    StreamError::with_text(e.condition(), "session manager unavailable"),
                )),
                _ => send_error(stream, iq, "internal-server-error").await,
            }
        }
    }
}

/// What a registration IQ within a session asks for.
pub enum InSession {
    /// Answer with this.
    Reply(Element),
    /// The account is gone from storage: tell the sm, answer with this, close the stream.
    Removed(Element),
}

/// A registration IQ from a logged-in user (to the server).
pub async fn in_session(ctx: &Ctx, user: &BareJid, iq: &Element) -> Option<InSession> {
    let error = |condition| crate::xml::stanza_error(iq, condition).map(InSession::Reply);
    let query = iq.get_child("query", NS_REGISTER)?;
    match iq.attr("type") {
        Some("get") => {
            let mut form = Element::bare("query", NS_REGISTER);
            form.append_child(Element::bare("registered", NS_REGISTER));
            form.append_child(text_element(
                "username",
                NS_REGISTER,
                user.node().map(|n| n.as_str()).unwrap_or_default(),
            ));
            form.append_child(Element::bare("password", NS_REGISTER));
            return Some(InSession::Reply(iq_result(iq, Some(form))));
        }
        Some("set") => {}
        _ => return error("bad-request"),
    }
    if query.get_child("remove", NS_REGISTER).is_some() {
        return match ctx.storage.delete_account(user).await {
            Ok(_) => {
                tracing::info!(%user, "account removed");
                Some(InSession::Removed(iq_result(iq, None)))
            }
            Err(e) => {
                tracing::error!("removing {user}: {e}");
                error("internal-server-error")
            }
        };
    }
    let (username, password) = fields(query);
    if username
        .as_deref()
        .and_then(|u| account(u, user.domain().as_str()))
        .as_ref()
        != Some(user)
    {
        // XEP-0077 §3.3: only one's own password can be changed.
        return error("not-authorized");
    }
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return error("not-acceptable");
    };
    let Some(creds) = credentials(password).await else {
        return error("not-acceptable");
    };
    match ctx.storage.set_credentials(user, creds).await {
        Ok(true) => {
            tracing::info!(%user, "password changed");
            Some(InSession::Reply(iq_result(iq, None)))
        }
        Ok(false) => error("item-not-found"),
        Err(e) => {
            tracing::error!("changing the password of {user}: {e}");
            error("internal-server-error")
        }
    }
}

/// After a removal: the sm deletes the user's data (`delete` → `deleted`), bounded.
pub async fn tell_sm_deleted(conn: &mut Conn, domain: &str, user: &BareJid) {
    let id = random_id();
    let request = control::request(
        Action::Delete,
        &conn.sc_id,
        None,
        Some(user.as_str()),
        Some(&id),
    );
    match sm::request(conn, domain, domain, request, &id).await {
        Ok((_, reply)) if reply.action == Action::Deleted && !reply.failed => {}
        outcome => {
            tracing::warn!(%user, ?outcome, "the sm did not confirm deleting the user's data")
        }
    }
}
