//! Writing responses to consultations: anyone sends one while the consultation is open
//! (`submitConsultationResponse`); the community's editors and staff moderate and answer
//! them. Each is one transaction with its audit record, as every mutation; the audit log
//! records name and email redacted (see the entity), never in clear.
use async_graphql::{Context, ID, InputObject, Object, Result};
use entity::{
    action,
    consultation_response::{self as response, ResponseStatus},
    plan,
};
use sea_orm::{ColumnTrait, EntityTrait, NotSet, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{ConsultationResponse, ConsultationResponseStatus, MAX_BODY, is_open};
use crate::{
    auth::{Require, visible_to_writers},
    consultation::abuse::{OverBudget, Submissions, Submitter},
    limit::Client,
    relay::{self, NodeType},
    write::{Check, MAX_NAME, Refused, UserErrorCode, mutate, new_row, payload},
};

/// A response from the public. Name, association and email are optional; giving any of them
/// needs `consentToStore`.
#[derive(InputObject)]
pub struct SubmitConsultationResponseInput {
    /// The plan in consultation.
    pub plan_id: ID,
    /// One of the plan's actions, when the response is about it.
    pub action_id: Option<ID>,
    /// The response, at most 5,000 characters.
    pub body: String,
    pub name: Option<String>,
    /// The association the sender answers for, if any (shown with the response).
    pub association: Option<String>,
    /// Where to send a reply; never shown.
    pub email: Option<String>,
    /// Consent to store the name, association and email given; required (true) when any is
    /// given, false when left out.
    #[graphql(default)]
    pub consent_to_store: bool,
    /// Consent to show the name with the published response; false when left out.
    pub consent_to_show_name: Option<bool>,
}

/// A moderator's decision on a response.
#[derive(InputObject)]
pub struct ModerateConsultationResponseInput {
    pub id: ID,
    /// The version the decision is based on; a stale one is a CONFLICT.
    pub version: i32,
    /// `PUBLISHED`, `REJECTED` or `HIDDEN`.
    pub status: ConsultationResponseStatus,
    /// Why it is rejected: required with `REJECTED`, refused otherwise. Seen by moderators only.
    pub rejection_reason: Option<String>,
}

/// A moderator's answer to a response, public once the response is published.
#[derive(InputObject)]
pub struct ReplyToConsultationResponseInput {
    pub id: ID,
    pub version: i32,
    pub reply: String,
}

/// A moderator's cut of a response's text.
#[derive(InputObject)]
pub struct RedactConsultationResponseInput {
    pub id: ID,
    pub version: i32,
    /// The response's text with what must go taken out, each cut marked `[fjernet]`: between
    /// the marks stands the old text, unbroken and in order. Nothing may be added, reworded or
    /// cut without a mark (`INVALID` otherwise).
    pub body: String,
}

/// What marks a cut in a redacted response.
pub const CUT: &str = "[fjernet]";

/// Whether `new` is `old` with parts cut out, each cut marked [`CUT`]: what stands between
/// the marks is `old`'s text, unbroken, in order, from its first character to its last (an
/// unmarked cut could turn "vi er ikke for" into "vi er for").
fn is_cut(old: &str, new: &str) -> bool {
    let mut pieces = new.split(CUT);
    let first = pieces.next().unwrap_or_default();
    let Some(mut tail) = old.strip_prefix(first) else {
        return false;
    };
    let rest: Vec<&str> = pieces.collect();
    let Some((last, middle)) = rest.split_last() else {
        return tail.is_empty();
    };
    for piece in middle {
        match tail.find(piece) {
            Some(at) => tail = &tail[at + piece.len()..],
            None => return false,
        }
    }
    tail.ends_with(last)
}

payload!(SubmitConsultationResponsePayload, receipt: ID);
payload!(RedactConsultationResponsePayload, consultation_response: ConsultationResponse);
payload!(ModerateConsultationResponsePayload, consultation_response: ConsultationResponse);
payload!(ReplyToConsultationResponsePayload, consultation_response: ConsultationResponse);

/// Where `text` names the person called `name` (case, spacing and invisible characters
/// aside), the words that do: the whole name as words of its own, in any case; or a part of
/// it of four letters or more written as a name is (capitalised: "hans forslag" is not
/// "Hans"), also in the genitive ("Hansens"). "Kære Ole Hansen" and "Tak, fru Hansen" name
/// "Ole Hansen", and so does "OleHansen"; "Skolen" does not name "Ole", nor does "vi vil bo
/// her" name "Bo Bang".
fn mentions(text: &str, name: &str) -> Option<String> {
    let (lower, name) = (crate::common::comparable(text), crate::common::comparable(name));
    if name.chars().count() < 2 {
        return None;
    }
    let whole = lower.match_indices(&name).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + name.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    });
    if whole {
        return Some(name);
    }
    let parts: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|part| part.chars().filter(|c| c.is_alphabetic()).count() >= 4)
        .collect();
    // The whole name written as one word ("RenéeSørensen"), in any case.
    let joined: String = name.split(|c: char| !c.is_alphanumeric()).collect();
    if joined != name
        && let Some(word) = lower
            .split(|c: char| !c.is_alphanumeric())
            .find(|word| is_or_genitive(word, &joined))
    {
        return Some(word.to_owned());
    }
    crate::common::comparable_cased(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.chars().next().is_some_and(char::is_uppercase))
        .find(|word| {
            let word = word.to_lowercase();
            parts.iter().any(|p| is_or_genitive(&word, p))
        })
        .map(str::to_owned)
}

/// Whether `word` (lowercase) is `part` or its genitive: "hansens", and "hansenʼs" with the
/// modifier letter apostrophe, a letter that holds the word together (a typographic or
/// typewriter apostrophe ends the word before it).
fn is_or_genitive(word: &str, part: &str) -> bool {
    word == part || ["s", "ʼs"].iter().any(|g| word.strip_suffix(g) == Some(part))
}

/// Whether `text` holds the address `email` (case, width and invisible characters aside), as
/// an address of its own: "nicole@x.dk" does not hold "ole@x.dk".
fn holds_email(text: &str, email: &str) -> bool {
    let email = crate::common::comparable(email.trim());
    !email.is_empty() && !email_places(&crate::common::comparable(text), &email).is_empty()
}

/// Where `email` stands in `text` as an address of its own, in any case: the byte ranges.
/// Not inside a longer address: no letter, digit or `._%+-` just before it, and no letter,
/// digit, `-`, `_` or a `.` that goes on with a letter or digit just after it.
fn email_places(text: &str, email: &str) -> Vec<(usize, usize)> {
    let local = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    let mut places = Vec::new();
    if email.is_empty() {
        return places;
    }
    let wanted = email.to_lowercase();
    for (start, _) in text.char_indices() {
        let Some(head) = text.get(start..start + email.len()) else {
            continue;
        };
        if head.to_lowercase() != wanted {
            continue;
        }
        let end = start + email.len();
        let before = text[..start].chars().next_back();
        let mut after = text[end..].chars();
        let continues = match after.next() {
            Some(c) if c.is_alphanumeric() || matches!(c, '-' | '_') => true,
            Some('.') => after.next().is_some_and(char::is_alphanumeric),
            _ => false,
        };
        if !before.is_some_and(local) && !continues {
            places.push((start, end));
        }
    }
    places
}

/// `text` with the address `email` taken out wherever it stands as an address of its own, in
/// any case, each place marked [`CUT`]. For a reply or a reason that held the address of a
/// sender whose data is erased.
pub(super) fn cut_email(text: &str, email: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (start, end) in email_places(text, email.trim()) {
        if start < from {
            continue;
        }
        out.push_str(&text[from..start]);
        out.push_str(CUT);
        from = end;
    }
    out.push_str(&text[from..]);
    out
}

/// `text` with the person called `name` taken out where it names them, each place marked
/// [`CUT`]. Words are compared as [`mentions`] compares them (NFKC, invisible characters
/// aside, so "Sø\u{ad}rensen" is Sørensen). A name of several words is cut where they stand
/// in order, in any case, whatever stands between them, and where one of its words of four
/// letters or more is written as a name is (capitalised), also in the genitive, and written
/// as one word ("RenéeSørensen"); a name of one word only where it is written as a name
/// ("hans forslag" keeps its "hans"). For a reply that named a sender whose data is erased.
pub(super) fn cut_name(text: &str, name: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    let parts: Vec<String> = crate::common::comparable(name)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let letters = |p: &str| p.chars().filter(|c| c.is_alphabetic()).count();
    if parts.is_empty() || (parts.len() == 1 && letters(&parts[0]) < 2) {
        return text.to_owned();
    }
    // The words of `text`, where each begins and ends: letters and digits, with the marks
    // and invisible characters that may stand inside a word.
    let inside = |c: char| {
        c.is_alphanumeric()
            || is_combining_mark(c)
            || matches!(
                c,
                '\u{00AD}' | '\u{034F}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
            )
    };
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if inside(c) {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            words.push((s, i));
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    let cased: Vec<String> = words
        .iter()
        .map(|&(s, e)| crate::common::comparable_cased(&text[s..e]))
        .collect();
    let lower: Vec<String> = cased.iter().map(|w| w.to_lowercase()).collect();
    // The words cut where they are written as a name.
    let named: Vec<&str> = if parts.len() == 1 {
        vec![parts[0].as_str()]
    } else {
        parts
            .iter()
            .map(String::as_str)
            .filter(|p| letters(p) >= 4)
            .collect()
    };
    // The whole name written as one word, in any case.
    let joined = (parts.len() > 1).then(|| parts.concat());
    let mut cuts = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if parts.len() > 1 && lower.get(i..i + parts.len()) == Some(&parts[..]) {
            cuts.push((words[i].0, words[i + parts.len() - 1].1));
            i += parts.len();
            continue;
        }
        let capitalised = cased[i].chars().next().is_some_and(char::is_uppercase);
        let word = lower[i].as_str();
        if joined.as_deref().is_some_and(|j| is_or_genitive(word, j))
            || capitalised && named.iter().any(|p| is_or_genitive(word, p))
        {
            cuts.push(words[i]);
        }
        i += 1;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e) in cuts {
        out.push_str(&text[at..s]);
        out.push_str(CUT);
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

/// No control characters but line breaks and tabs (where `lines`) and no text-direction
/// controls ([`crate::write::refused_char`]), as a user error on `field`.
fn plain(check: &mut Check, field: &str, value: Option<String>, lines: bool) -> Option<String> {
    let v = value?;
    if v.chars().any(|c| crate::write::refused_char(c, lines)) {
        check.add(field, UserErrorCode::Invalid, crate::write::REFUSED_CHARS);
        return None;
    }
    Some(crate::write::composed(&v))
}

/// The same for an optional text (`Some(None)`: left out).
fn opt_plain(
    check: &mut Check,
    field: &str,
    value: Option<Option<String>>,
    lines: bool,
) -> Option<Option<String>> {
    match value? {
        None => Some(None),
        v => plain(check, field, v, lines).map(Some),
    }
}

/// The hash a redacted response keeps: of its cut text and its ID, so it matches no other
/// response's (the duplicate check compares texts sent, not cut).
fn redacted_hash(id: Uuid, body: &str) -> String {
    body_hash(&format!("{id} {body}"))
}

/// The hash of the text as a duplicate check compares it: lowercase, runs of whitespace as
/// one space.
pub(crate) fn body_hash(body: &str) -> String {
    let normalised = body
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    crate::auth::secret::sha256_hex(&normalised)
}

/// The client sending a submission, as the request's admission keyed it (an anonymous
/// caller by address, an account, an API key); the viewer's identity when the schema runs
/// outside the HTTP server.
fn client(ctx: &Context<'_>) -> Option<Client> {
    match ctx.data_opt::<Submitter>() {
        Some(submitter) => submitter.client.clone(),
        None => Client::of(&crate::auth::viewer(ctx), None),
    }
}

/// How many responses the running operation submits: its root fields
/// `submitConsultationResponse`, through fragments (one response key is one field, however
/// often it is written). The executor has taken out what `@skip` and `@include` leave out.
fn submissions_in(ctx: &Context<'_>) -> u32 {
    let env = &ctx.query_env;
    let mut keys = std::collections::HashSet::new();
    crate::http::prepared::root_fields(&env.fragments, &env.operation.node.selection_set.node, &mut |f| {
        if f.name.node == "submitConsultationResponse" {
            keys.insert(f.response_key().node.as_str());
        }
    });
    u32::try_from(keys.len()).unwrap_or(u32::MAX).max(1)
}

/// The response `id` to moderate: NOT_FOUND when the caller may not see it (exactly as for an
/// ID that does not exist), FORBIDDEN when they see it but do not moderate its plan.
async fn to_moderate(w: &crate::write::Write, id: Uuid) -> Result<response::Model, crate::error::ApiError> {
    let before = w.find::<response::Entity>("consultation response", id).await?;
    let p = w.find::<plan::Entity>("plan", before.plan_id).await?;
    crate::write::require_plan_content(w, &p)?;
    Ok(before)
}

#[derive(Default)]
pub struct ConsultationMutation;

#[Object]
impl ConsultationMutation {
    /// Sends a response to a plan in consultation (or to one of its actions) while its
    /// consultation is open. Open to everyone: the website's visitors, partners, accounts.
    /// It is pending until a moderator publishes it; the receipt is its ID. Each client (an
    /// anonymous caller by address, an account, an API key) may send a few an hour (5 by
    /// default): beyond that the answer is HTTP 429 with `Retry-After` and `RATE_LIMITED`.
    /// The same text twice from one client to one consultation is `TAKEN` on `body`.
    async fn submit_consultation_response(
        &self,
        ctx: &Context<'_>,
        input: SubmitConsultationResponseInput,
    ) -> Result<SubmitConsultationResponsePayload> {
        // The client's budget first: a flood is refused before anything is read or written.
        let client = client(ctx);
        let submissions = ctx.data_opt::<Submissions>();
        if let Some(submissions) = submissions {
            // All of the request's responses at once: a request with more than the client has
            // left is refused as a whole, none of it written.
            match ctx.data_opt::<Submitter>() {
                Some(submitter) => submitter.charge(submissions, submissions_in(ctx)).await,
                None => submissions.charge(client.as_ref(), 1).await,
            }
            .map_err(OverBudget::into_error)?;
        }
        let fingerprint = match (submissions, &client) {
            (Some(submissions), Some(client)) => Some(submissions.fingerprint(client)),
            _ => ctx
                .data_opt::<std::sync::Arc<crate::auth::token::Tokens>>()
                .zip(client.as_ref())
                .map(|(tokens, client)| super::abuse::fingerprint(tokens, client)),
        };
        mutate(
            ctx,
            |check| {
                let plan_id = check.id("planId", &input.plan_id, NodeType::Plan);
                let action_id = check.opt_id("actionId", input.action_id.as_ref(), NodeType::Action);
                let body = check.text("body", &input.body, MAX_BODY);
                let body = plain(check, "body", body, true);
                let name = check.opt_text("name", input.name.as_deref(), MAX_NAME);
                let name = opt_plain(check, "name", name, false);
                let association = check.opt_text("association", input.association.as_deref(), MAX_NAME);
                let association = opt_plain(check, "association", association, false);
                let email = check.opt_email("email", input.email.as_deref());
                let personal = [&input.name, &input.association, &input.email]
                    .iter()
                    .any(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()));
                if personal && !input.consent_to_store {
                    check.add(
                        "consentToStore",
                        UserErrorCode::Required,
                        "give consent to store the name, association or email, or leave them out",
                    );
                }
                Some((plan_id?, action_id?, body?, name?, association?, email?))
            },
            async |w, (plan_id, action_id, body, name, association, email)| {
                // A plan the caller may not see is not found, exactly like a made-up ID.
                let Some(p) = w.visible::<plan::Entity>(plan_id).await? else {
                    return Err(
                        Refused::one("planId", UserErrorCode::NotFound, "no plan with this ID").into(),
                    );
                };
                // Read again and held until the response is in: an adoption running meanwhile,
                // which reads the plan's responses under its own lock, waits for it (or this
                // waits for the adoption, and finds the consultation over).
                let p = w
                    .sharing(plan::Entity::find_by_id(p.id))
                    .one(w.txn())
                    .await?
                    .unwrap_or(p);
                if let Some(a) = action_id {
                    let of_plan = action::Entity::find_by_id(a)
                        .filter(action::Column::PlanId.eq(p.id))
                        .one(w.txn())
                        .await?;
                    if of_plan.is_none() {
                        return Err(Refused::one(
                            "actionId",
                            UserErrorCode::NotFound,
                            "the plan has no action with this ID",
                        )
                        .into());
                    }
                }
                let today = crate::common::today();
                if !is_open(p.status, p.consultation_opens_on, p.consultation_closes_on, today) {
                    let message = match (p.status, p.consultation_opens_on, p.consultation_closes_on) {
                        (plan::PlanStatus::Consultation, Some(o), _) if today < o => {
                            format!("the consultation opens on {o}")
                        }
                        (plan::PlanStatus::Consultation, _, Some(c)) if c < today => {
                            format!("the consultation closed on {c}")
                        }
                        _ => "the plan is not in consultation".to_owned(),
                    };
                    return Err(Refused::one("planId", UserErrorCode::Invalid, message).into());
                }
                // The same text from the same client to the same consultation: refused.
                let hash = body_hash(&body);
                if let Some(fp) = &fingerprint {
                    let sent = response::Entity::find()
                        .filter(response::Column::PlanId.eq(p.id))
                        .filter(response::Column::BodyHash.eq(hash.as_str()))
                        .filter(response::Column::ClientFingerprint.eq(fp.as_str()))
                        .count(w.txn())
                        .await?;
                    if sent > 0 {
                        return Err(Refused::one(
                            "body",
                            UserErrorCode::Taken,
                            "you have already sent this response to this consultation",
                        )
                        .into());
                    }
                }
                let now = crate::common::now();
                let model = w
                    .create(
                        NodeType::ConsultationResponse,
                        response::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            plan_id: Set(p.id),
                            action_id: Set(action_id),
                            body_hash: Set(hash),
                            body: Set(body),
                            name: Set(name),
                            association: Set(association),
                            email: Set(email),
                            consent_to_store: Set(input.consent_to_store),
                            consent_to_show_name: Set(input.consent_to_show_name.unwrap_or(false)),
                            status: Set(ResponseStatus::Pending),
                            rejection_reason: Set(None),
                            reply: Set(None),
                            replied_at: Set(None),
                            client_fingerprint: Set(fingerprint.clone()),
                            ..new_row(now)
                        },
                    )
                    .await?;
                Ok(model.id)
            },
            |id| SubmitConsultationResponsePayload::ok(relay::encode(NodeType::ConsultationResponse, id)),
        )
        .await
    }

    /// Publishes, rejects (with a reason) or hides a response. The community's editors and
    /// staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn moderate_consultation_response(
        &self,
        ctx: &Context<'_>,
        input: ModerateConsultationResponseInput,
    ) -> Result<ModerateConsultationResponsePayload> {
        let to = ResponseStatus::from(input.status);
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::ConsultationResponse);
                if to == ResponseStatus::Pending {
                    check.add(
                        "status",
                        UserErrorCode::InvalidTransition,
                        "a response is published, rejected or hidden; it does not go back to pending",
                    );
                }
                let reason = check.opt_text("rejectionReason", input.rejection_reason.as_deref(), MAX_BODY);
                let reason = opt_plain(check, "rejectionReason", reason, true);
                match (&reason, to) {
                    (Some(None), ResponseStatus::Rejected) => check.add(
                        "rejectionReason",
                        UserErrorCode::Required,
                        "say why the response is rejected",
                    ),
                    (Some(Some(_)), s) if s != ResponseStatus::Rejected => check.add(
                        "rejectionReason",
                        UserErrorCode::Invalid,
                        "give a reason only when the response is rejected",
                    ),
                    _ => {}
                }
                Some((id?, reason?))
            },
            async |w, (id, reason)| {
                let before = to_moderate(w, id).await?;
                let row = response::ActiveModel {
                    status: Set(to),
                    rejection_reason: Set(reason),
                    ..Default::default()
                };
                w.update::<response::Entity>(NodeType::ConsultationResponse, &before, input.version, row)
                    .await
            },
            |m| ModerateConsultationResponsePayload::ok(ConsultationResponse(m)),
        )
        .await
    }

    /// Takes personal data out of a response's text (what it tells of the sender's health, say,
    /// or of a neighbour by name), at the sender's request or on the moderators' judgement: the
    /// new text is the old one with parts cut out, each cut marked `[fjernet]`. The old text
    /// is kept nowhere: not in the response, the search index or the audit log (which never
    /// holds a response's text). The community's editors and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn redact_consultation_response(
        &self,
        ctx: &Context<'_>,
        input: RedactConsultationResponseInput,
    ) -> Result<RedactConsultationResponsePayload> {
        let payload = mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::ConsultationResponse);
                let body = check.text("body", &input.body, MAX_BODY);
                let body = plain(check, "body", body, true);
                Some((id?, body?))
            },
            async |w, (id, body)| {
                let before = to_moderate(w, id).await?;
                if !is_cut(&before.body, &body) {
                    return Err(Refused::one(
                        "body",
                        UserErrorCode::Invalid,
                        "a redaction only cuts: send the response's text with parts taken out (each marked [fjernet]), nothing added or reworded",
                    )
                    .into());
                }
                // The old text's hash would tell it, and the cut text's could be another
                // response's of the same sender (two cut down to the same words), which the
                // duplicate check's index would refuse: a moderator's cut is not a resubmission.
                // The hash is the response's own from here on.
                let row = response::ActiveModel {
                    body_hash: Set(redacted_hash(before.id, &body)),
                    body: Set(body),
                    ..Default::default()
                };
                w.update::<response::Entity>(NodeType::ConsultationResponse, &before, input.version, row)
                    .await
            },
            |m| RedactConsultationResponsePayload::ok(ConsultationResponse(m)),
        )
        .await;
        crate::db::forget(ctx.data_unchecked()).await;
        payload
    }

    /// Answers a response (replacing an earlier answer); the answer is public once the
    /// response is published. The community's editors and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn reply_to_consultation_response(
        &self,
        ctx: &Context<'_>,
        input: ReplyToConsultationResponseInput,
    ) -> Result<ReplyToConsultationResponsePayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::ConsultationResponse);
                let reply = check.text("reply", &input.reply, MAX_BODY);
                let reply = plain(check, "reply", reply, true);
                Some((id?, reply?))
            },
            async |w, (id, reply)| {
                let before = to_moderate(w, id).await?;
                if !before.consent_to_show_name
                    && let Some(name) = before.name.as_deref()
                    && let Some(named) = mentions(&reply, name)
                {
                    return Err(Refused::one(
                        "reply",
                        UserErrorCode::Invalid,
                        format!(
                            "the reply names the sender (\"{named}\"), who did not agree to have their name shown: leave the name out (the reply is public once the response is published)"
                        ),
                    )
                    .into());
                }
                // The sender's address is never shown, whatever they agreed to.
                if let Some(email) = before.email.as_deref()
                    && holds_email(&reply, email)
                {
                    return Err(Refused::one(
                        "reply",
                        UserErrorCode::Invalid,
                        "the reply holds the sender's email address, which is never shown: leave it out (the reply is public once the response is published)",
                    )
                    .into());
                }
                // The same reply again is no change: it keeps the time it was given.
                let changed = before.reply.as_deref() != Some(reply.as_str());
                let row = response::ActiveModel {
                    replied_at: if changed {
                        Set(Some(crate::common::now()))
                    } else {
                        NotSet
                    },
                    reply: Set(Some(reply)),
                    ..Default::default()
                };
                w.update::<response::Entity>(NodeType::ConsultationResponse, &before, input.version, row)
                    .await
            },
            |m| ReplyToConsultationResponsePayload::ok(ConsultationResponse(m)),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn an_erased_senders_name_is_cut_out_of_a_reply() {
        use super::cut_name;
        assert_eq!(
            cut_name(
                "Kære Karen Sørensen, tak. Sørensens forslag og fru SØRENSEN er med.",
                "Karen Sørensen"
            ),
            "Kære [fjernet], tak. [fjernet] forslag og fru [fjernet] er med."
        );
        assert_eq!(
            cut_name("Tak, karen  sørensen!", "Karen Sørensen"),
            "Tak, [fjernet]!"
        );
        assert_eq!(
            cut_name("Karen-Marie Hansen skrev.", "Karen-Marie Hansen"),
            "[fjernet] skrev."
        );
        // A word that only looks like a part of the name, or a short part alone, stays.
        assert_eq!(
            cut_name("Skolen og hansen-ordningen, Ole.", "Ole Hansen"),
            "Skolen og hansen-ordningen, Ole."
        );
        assert_eq!(cut_name("Ingen navne her.", "Bo Bang"), "Ingen navne her.");
        assert_eq!(
            super::cut_email(
                "Skriv til PIA@Eksempel.dk eller pia@eksempel.dk.",
                "pia@eksempel.dk"
            ),
            "Skriv til [fjernet] eller [fjernet]."
        );
        assert_eq!(super::cut_email("Tak, Pia Ø.", "pia@eksempel.dk"), "Tak, Pia Ø.");
        assert!(super::holds_email("Hej PIA@EKSEMPEL.DK!", "pia@eksempel.dk"));
        assert!(!super::holds_email(
            "Skriv til lup@jammerbugt.dk",
            "pia@eksempel.dk"
        ));
        // Not inside a longer address.
        assert!(!super::holds_email("Skriv til nicole@x.dk", "ole@x.dk"));
        assert!(!super::holds_email("Skriv til ole@x.dk.eu", "ole@x.dk"));
        assert!(super::holds_email("Skriv til ole@x.dk.", "ole@x.dk"));
        assert_eq!(
            super::cut_email("nicole@x.dk og OLE@x.dk, tak", "ole@x.dk"),
            "nicole@x.dk og [fjernet], tak"
        );
        assert_eq!(cut_name("Tak for svaret.", ""), "Tak for svaret.");
        // Written with a combining ring, or a soft hyphen inside: still the name.
        assert_eq!(
            cut_name("Tak, A\u{30a}gård og Sø\u{ad}rensen.", "Karen Ågård Sørensen"),
            "Tak, [fjernet] og [fjernet]."
        );
        // A name of one word: only where it is written as a name.
        assert_eq!(
            cut_name("Hans skrev, at hans forslag er godt. Tak, Hans!", "Hans"),
            "[fjernet] skrev, at hans forslag er godt. Tak, [fjernet]!"
        );
        assert_eq!(cut_name("Vi vil bo i byen.", "I"), "Vi vil bo i byen.");
        // The whole name as one word, in any case, and a genitive with a modifier apostrophe.
        assert_eq!(
            cut_name(
                "Tak RenéeSørensen og renéesørensens nabo. Sørensenʼs idé.",
                "Renée Sørensen"
            ),
            "Tak [fjernet] og [fjernet] nabo. [fjernet] idé."
        );
        assert_eq!(
            cut_name("Karenmarie og Hansenvej.", "Karen Hansen"),
            "Karenmarie og Hansenvej."
        );
    }

    #[test]
    fn a_redaction_only_cuts() {
        use super::is_cut;
        let old = "Min søn har ADHD og har brug for en rolig legeplads.";
        assert!(is_cut(old, "Min søn [fjernet] har brug for en rolig legeplads."));
        assert!(is_cut(
            old,
            "Min søn har [fjernet] brug for en [fjernet] legeplads."
        ));
        assert!(is_cut(old, "[fjernet] og har brug for en rolig legeplads."));
        assert!(is_cut(old, "Min søn har ADHD[fjernet]"));
        assert!(is_cut(old, old));
        assert!(is_cut(old, "[fjernet]"));
        assert!(
            !is_cut(old, "Min søn har brug for en rolig legeplads."),
            "a cut is marked"
        );
        assert!(
            !is_cut(old, "søn har ADHD og har brug for en rolig legeplads."),
            "at the start too"
        );
        assert!(
            !is_cut(old, "Min søn har ADHD og har brug for en rolig"),
            "and at the end"
        );
        assert!(!is_cut(
            old,
            "Min søn har ADHD og har brug for en stor legeplads."
        ));
        assert!(!is_cut(old, "Min søn har brug for en rolig legeplads. Tak!"));
        assert!(!is_cut(old, "legeplads.[fjernet]Min søn"), "the order is kept");
        assert!(!is_cut("Vi er ikke for hallen", "Vi er for hallen"));
    }

    #[test]
    fn a_reply_mentions_a_name_only_as_words_of_its_own() {
        let mentions = |text: &str, name: &str| mentions(text, name).is_some();
        assert!(mentions("Kære Ole Hansen, tak.", "Ole Hansen"));
        assert!(mentions("tak, OLE HANSEN", " ole hansen "));
        assert!(mentions("Åse Ørsted", "åse ørsted"));
        assert!(!mentions("Skolen svarer", "Ole"));
        assert!(!mentions("Tak til Bo 10", "Bo 1"));
        assert!(mentions("Tak, fru Testesen", "Karen Testesen"));
        assert!(mentions("Tak Karen-Testesen", "Karen Testesen"));
        assert!(mentions("Karen Testesens forslag er godt", "Karen Testesen"));
        assert!(mentions("Tak, K. Testesen", "Karen Testesen"));
        assert!(mentions("Kære Karen", "Karen Testesen"));
        assert!(!mentions("Vi vil gerne bo her", "Bo Bang"));
        assert!(!mentions("Testesenvej er lukket", "Karen Testesen"));
        assert!(
            !mentions("Vi har læst hans forslag", "Hans Jensen"),
            "a part in lower case is a word"
        );
        assert!(mentions("Tak, Hans", "Hans Jensen"));
        assert!(!mentions("Stien går gennem skov og mark", "Per Skov"));
        assert_eq!(
            super::mentions("Tak, fru Testesen!", "Karen Testesen").as_deref(),
            Some("Testesen")
        );
        assert!(!mentions("Tak for svaret", "x"));
        assert!(mentions("Tak RenéeSørensen, vi ser på det.", "Renée Sørensen"));
        assert!(mentions("tak reneesorensen", "Renee Sorensen"));
        assert!(mentions("Tak, Testesenʼs forslag", "Karen Testesen"));
        assert!(!mentions("Tak, Karenstesen", "Karen Testesen"));
        assert!(mentions(
            "Kære S\u{f8}ren A\u{30a}gård  Hansen",
            "Søren Ågård Hansen"
        ));
        assert!(mentions("Kære Søren\nÅgård\u{ad} Hansen", "Søren Ågård Hansen"));
        assert!(mentions("Søren\u{200b} Ågård Hansen", "Søren Ågård Hansen"));
    }
}
