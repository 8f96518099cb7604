//! Signing in and proving who you are: login, token checks (expired, tampered, wrong
//! audience or issuer, `alg: none`), refresh-token rotation, API keys, external identity
//! provider tokens, and the rule that production needs a secret of its own.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use lup_api::config::{AppEnv, DEVELOPMENT_JWT_SECRET, Secret};
use lup_tests::{
    As, PASSWORD, TestApp, both,
    fixture::{Fixture, OrganizationKind},
};
use serde_json::{Value, json};

const VIEWER: &str = "{ viewer { role account { email role } organization { slug } communities { slug } } }";

/// A POST with a raw `Authorization` header; returns the status and the body.
async fn viewer_with(app: &TestApp, header: &str, value: &str) -> reqwest::Response {
    app.client
        .post(app.url("/graphql"))
        .header(header, value)
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .expect("request")
}

async fn with_auth(app: &TestApp, header: &str, value: &str) -> (u16, Value) {
    let response = viewer_with(app, header, value).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

fn claims(sub: &str, aud: &str, iss: &str, iat: i64, exp: i64) -> Value {
    json!({ "sub": sub, "role": "STAFF", "aud": aud, "iss": iss, "iat": iat, "exp": exp })
}

fn sign(claims: &Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

fn assert_refused((status, body): (u16, Value), what: &str) {
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{what}: {body}"
    );
    assert!(
        body.get("data").is_none_or(Value::is_null),
        "{what}: no data may come back: {body}"
    );
}

both!(
    login_gives_a_token_that_names_the_viewer,
    |app: TestApp| async move {
        let anonymous = app.data(VIEWER, json!({})).await;
        assert_eq!(anonymous["viewer"]["role"], "ANONYMOUS");
        assert!(anonymous["viewer"]["account"].is_null());

        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        app.create_account("redaktoer@gjoel.dk", As::CommunityEditor, &[gjol])
            .await;
        let login = app.login("Redaktoer@Gjoel.dk ", PASSWORD).await;
        let token = login["accessToken"].as_str().expect("token");
        assert!(
            login["refreshToken"]
                .as_str()
                .is_some_and(|t| t.starts_with("rt_"))
        );
        let viewer = app.with_token(token).data(VIEWER, json!({})).await;
        assert_eq!(viewer["viewer"]["role"], "COMMUNITY_EDITOR");
        assert_eq!(viewer["viewer"]["account"]["email"], "redaktoer@gjoel.dk");
        assert_eq!(viewer["viewer"]["communities"], json!([{ "slug": "gjoel" }]));

        // A wrong password and an unknown email get the same answer.
        let q = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
        for (email, password) in [
            ("redaktoer@gjoel.dk", "forkert-adgangskode"),
            ("ingen@gjoel.dk", PASSWORD),
        ] {
            let (code, message) = app
                .error(q, json!({ "i": { "email": email, "password": password } }))
                .await;
            assert_eq!(code, "UNAUTHENTICATED");
            assert!(message.contains("email or the password"), "{message}");
        }
        // A malformed input is a user error.
        let body = app
            .data(
                "mutation($i: LoginInput!) { login(input: $i) { accessToken userErrors { field code } } }",
                json!({ "i": { "email": "ikke en email", "password": "" } }),
            )
            .await;
        assert!(body["login"]["accessToken"].is_null());
        assert_eq!(
            body["login"]["userErrors"],
            json!([{ "field": ["email"], "code": "INVALID" }, { "field": ["password"], "code": "REQUIRED" }])
        );
        // Logins are in the audit log.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff
        .data("{ auditLog(filter: { operation: \"LOGIN\" }) { totalCount nodes { actor { kind label } entityType } } }", json!({}))
        .await;
        assert_eq!(log["auditLog"]["totalCount"], 2, "{log}");
        // Signed with the account's name: staff read the log, only admins the accounts' emails.
        assert_eq!(log["auditLog"]["nodes"][1]["actor"]["label"], "Test redaktoer");
        assert!(!log.to_string().contains('@'), "{log}");
        // The actor names its account by `nodeId`, the account's own global ID (the
        // deprecated `id` too, as before).
        let admin = app.signed_in(As::Admin, &[], None).await;
        let accounts = admin.data("{ accounts { nodes { id email } } }", json!({})).await;
        let editor = accounts["accounts"]["nodes"]
            .as_array()
            .expect("accounts")
            .iter()
            .find(|a| a["email"] == "redaktoer@gjoel.dk")
            .expect("the editor's account")
            .clone();
        let log = staff
            .data(
                "{ auditLog(filter: { operation: \"LOGIN\" }) { nodes { actor { kind id nodeId label } } } }",
                json!({}),
            )
            .await;
        let actor = log["auditLog"]["nodes"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| &e["actor"])
            .find(|a| a["label"] == "Test redaktoer")
            .expect("the editor's login");
        assert_eq!(actor["kind"], "ACCOUNT", "{log}");
        assert_eq!(actor["nodeId"], editor["id"], "{log}");
        assert_eq!(actor["id"], editor["id"], "{log}");
    }
);

both!(
    bad_tokens_are_refused_before_anything_runs,
    |app: TestApp| async move {
        let id = app
            .create_account("koordinator@jammerbugt.dk", As::Staff, &[])
            .await
            .to_string();
        // The sign-in session of a real login: a token this server issues names one.
        let sid = session_of(&app.login("koordinator@jammerbugt.dk", PASSWORD).await);
        let claims = |sub: &str, aud: &str, iss: &str, iat: i64, exp: i64| {
            let mut c = claims(sub, aud, iss, iat, exp);
            c["sid"] = sid.clone();
            c
        };
        let now = chrono::Utc::now().timestamp();
        let good = sign(
            &claims(&id, "lup-api", "lup", now, now + 600),
            DEVELOPMENT_JWT_SECRET,
        );
        let (status, body) = with_auth(&app, "authorization", &format!("Bearer {good}")).await;
        assert_eq!(
            (status, body["data"]["viewer"]["role"].clone()),
            (200, json!("STAFF")),
            "{body}"
        );

        let expired = sign(
            &claims(&id, "lup-api", "lup", now - 4000, now - 3600),
            DEVELOPMENT_JWT_SECRET,
        );
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {expired}")).await,
            "expired",
        );
        // Expired a moment ago: refused all the same, as a WebSocket refuses it.
        let just_expired = sign(
            &claims(&id, "lup-api", "lup", now - 600, now - 2),
            DEVELOPMENT_JWT_SECRET,
        );
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {just_expired}")).await,
            "expired moments ago",
        );
        // Not valid before an hour from now: not valid yet.
        let mut later = claims(&id, "lup-api", "lup", now, now + 7200);
        later["nbf"] = json!(now + 3600);
        assert_refused(
            with_auth(
                &app,
                "authorization",
                &format!("Bearer {}", sign(&later, DEVELOPMENT_JWT_SECRET)),
            )
            .await,
            "not valid before a time to come",
        );
        let audience = sign(
            &claims(&id, "et-andet-api", "lup", now, now + 600),
            DEVELOPMENT_JWT_SECRET,
        );
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {audience}")).await,
            "wrong audience",
        );
        let issuer = sign(
            &claims(&id, "lup-api", "en-anden", now, now + 600),
            DEVELOPMENT_JWT_SECRET,
        );
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {issuer}")).await,
            "wrong issuer",
        );
        let secret = sign(
            &claims(&id, "lup-api", "lup", now, now + 600),
            "a-secret-that-is-not-the-servers-own",
        );
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {secret}")).await,
            "other secret",
        );
        // Signed with the secret, but not as this server issues tokens: without a session,
        // in a session that does not exist, or living longer than ACCESS_TOKEN_TTL_SECS.
        let mut without = claims(&id, "lup-api", "lup", now, now + 600);
        without.as_object_mut().expect("object").remove("sid");
        let mut unknown = claims(&id, "lup-api", "lup", now, now + 600);
        unknown["sid"] = json!(uuid::Uuid::now_v7());
        // Another account's open session (its ID shows in any of its tokens) opens this one
        // to nobody: an editor's session with the coordinator's ID.
        app.create_account("redaktoer@gjoel.dk", As::CommunityEditor, &[gjoel(&app).await])
            .await;
        let mut borrowed = claims(&id, "lup-api", "lup", now, now + 600);
        borrowed["sid"] = session_of(&app.login("redaktoer@gjoel.dk", PASSWORD).await);
        assert_ne!(borrowed["sid"], sid);
        for (token, what) in [
            (without, "no session"),
            (unknown, "a session that does not exist"),
            (borrowed, "another account's session"),
            (
                claims(&id, "lup-api", "lup", now, now + 1_000_000_000),
                "living for ever",
            ),
            (
                claims(&id, "lup-api", "lup", now - 1000, now + 600),
                "living 1,600 s",
            ),
        ] {
            assert_refused(
                with_auth(
                    &app,
                    "authorization",
                    &format!("Bearer {}", sign(&token, DEVELOPMENT_JWT_SECRET)),
                )
                .await,
                what,
            );
        }

        // Tampered: the payload changed after signing (another subject), signature kept.
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let other = app
            .create_account("admin@jammerbugt.dk", As::Admin, &[])
            .await
            .to_string();
        parts[1] = URL_SAFE_NO_PAD.encode(claims(&other, "lup-api", "lup", now, now + 600).to_string());
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {}", parts.join("."))).await,
            "tampered",
        );

        // `alg: none`, unsigned.
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims(&id, "lup-api", "lup", now, now + 600).to_string());
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {header}.{payload}.")).await,
            "alg none",
        );

        assert_refused(
            with_auth(&app, "authorization", "Bearer ikke-et-token").await,
            "garbage",
        );
        assert_refused(
            with_auth(&app, "authorization", &format!("Basic {good}")).await,
            "wrong scheme",
        );

        // A disabled account's token stops working at once.
        lup_tests::fixture::Fixture::new(&app.db)
            .set("account", id.parse().expect("uuid"), "disabled", true)
            .await;
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {good}")).await,
            "disabled",
        );
    }
);

both!(
    refresh_tokens_rotate_and_a_reused_one_ends_the_session,
    |app: TestApp| async move {
        app.create_account("koordinator@jammerbugt.dk", As::Staff, &[])
            .await;
        let login = app.login("koordinator@jammerbugt.dk", PASSWORD).await;
        let first = login["refreshToken"].as_str().expect("refresh").to_owned();
        let q = "mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { accessToken refreshToken } }";
        let renewed = app.data(q, json!({ "t": first })).await;
        let second = renewed["refreshToken"]["refreshToken"]
            .as_str()
            .expect("second")
            .to_owned();
        assert_ne!(first, second);
        let token = renewed["refreshToken"]["accessToken"].as_str().expect("access");
        assert_eq!(
            app.with_token(token).data(VIEWER, json!({})).await["viewer"]["role"],
            "STAFF"
        );

        // The first token again: refused, and the whole family with it, the session's access
        // token too (it was copied: whoever holds the session must not keep using it).
        assert_eq!(app.error(q, json!({ "t": first })).await.0, "UNAUTHENTICATED");
        assert_eq!(app.error(q, json!({ "t": second })).await.0, "UNAUTHENTICATED");
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {token}")).await,
            "the access token of an ended session",
        );

        // Renewing does not extend the session: the new refresh token expires with the first.
        let q_exp = "mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { refreshToken refreshTokenExpiresAt } }";
        let login = app.login("koordinator@jammerbugt.dk", PASSWORD).await;
        let first_expiry =
            chrono::DateTime::parse_from_rfc3339(login["refreshTokenExpiresAt"].as_str().expect("expiry"))
                .expect("time");
        let renewed = app.data(q_exp, json!({ "t": login["refreshToken"] })).await;
        let renewed_expiry = chrono::DateTime::parse_from_rfc3339(
            renewed["refreshToken"]["refreshTokenExpiresAt"]
                .as_str()
                .expect("time"),
        )
        .expect("time");
        assert_eq!(first_expiry, renewed_expiry, "renewals keep the session's expiry");

        // An admin resetting the password ends the account's sessions.
        let login = app.login("koordinator@jammerbugt.dk", PASSWORD).await;
        let admin = app.signed_in(As::Admin, &[], None).await;
        let accounts = admin
            .data("{ accounts { nodes { id email version } } }", json!({}))
            .await;
        let me = accounts["accounts"]["nodes"]
            .as_array()
            .expect("accounts")
            .iter()
            .find(|a| a["email"] == "koordinator@jammerbugt.dk")
            .expect("the account")
            .clone();
        let reset = admin
        .data(
            "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) { userErrors { field } } }",
            json!({ "i": { "id": me["id"], "version": me["version"], "password": "en-helt-ny-adgangskode" } }),
        )
        .await;
        assert_eq!(reset["updateAccount"]["userErrors"], json!([]));
        assert_eq!(
            app.error(q, json!({ "t": login["refreshToken"] })).await.0,
            "UNAUTHENTICATED"
        );
        let relogin = app
            .login("koordinator@jammerbugt.dk", "en-helt-ny-adgangskode")
            .await;
        assert!(relogin["accessToken"].is_string());

        // Logout ends a session at once: its refresh token and its access token no longer
        // work; another session of the same account goes on.
        let login = app
            .login("koordinator@jammerbugt.dk", "en-helt-ny-adgangskode")
            .await;
        let other = app
            .login("koordinator@jammerbugt.dk", "en-helt-ny-adgangskode")
            .await;
        let refresh = login["refreshToken"].as_str().expect("refresh");
        let access = login["accessToken"].as_str().expect("access");
        assert_eq!(
            app.with_token(access).data(VIEWER, json!({})).await["viewer"]["role"],
            "STAFF"
        );
        let out = app
            .data(
                "mutation($t: String!) { logout(input: { refreshToken: $t }) { ended } }",
                json!({ "t": refresh }),
            )
            .await;
        assert_eq!(out["logout"]["ended"], true);
        assert_eq!(app.error(q, json!({ "t": refresh })).await.0, "UNAUTHENTICATED");
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {access}")).await,
            "the access token of a session that logged out",
        );
        let still = other["accessToken"].as_str().expect("access");
        assert_eq!(
            app.with_token(still).data(VIEWER, json!({})).await["viewer"]["role"],
            "STAFF"
        );
        assert_eq!(
            app.error(q, json!({ "t": "rt_ukendt" })).await.0,
            "UNAUTHENTICATED"
        );

        // Everywhere: every session of the account ends (also with a token swapped already,
        // as whoever finds a copy of theirs in use has); another account's go on.
        let first = app
            .login("koordinator@jammerbugt.dk", "en-helt-ny-adgangskode")
            .await;
        let second = app
            .login("koordinator@jammerbugt.dk", "en-helt-ny-adgangskode")
            .await;
        let swapped = app.data(q, json!({ "t": first["refreshToken"] })).await;
        assert!(swapped["refreshToken"]["accessToken"].is_string(), "{swapped}");
        app.create_account("redaktoer@jammerbugt.dk", As::Staff, &[])
            .await;
        let bystander = app.login("redaktoer@jammerbugt.dk", PASSWORD).await;
        let out = app
            .data(
                "mutation($t: String!) { logout(input: { refreshToken: $t, everywhere: true }) { ended } }",
                json!({ "t": first["refreshToken"] }),
            )
            .await;
        assert_eq!(out["logout"]["ended"], true);
        for session in [&second, &swapped["refreshToken"], &other] {
            assert_refused(
                with_auth(
                    &app,
                    "authorization",
                    &format!("Bearer {}", session["accessToken"].as_str().expect("access")),
                )
                .await,
                "a session of the account that signed out everywhere",
            );
            assert_eq!(
                app.error(q, json!({ "t": session["refreshToken"] })).await.0,
                "UNAUTHENTICATED"
            );
        }
        assert_eq!(
            app.with_token(bystander["accessToken"].as_str().expect("access"))
                .data(VIEWER, json!({}))
                .await["viewer"]["role"],
            "STAFF"
        );
        // A revoked token ends nothing more: whoever kept a copy of one cannot sign the
        // account out again and again.
        let fresh = app
            .login("koordinator@jammerbugt.dk", "en-helt-ny-adgangskode")
            .await;
        let out = app
            .data(
                "mutation($t: String!) { logout(input: { refreshToken: $t, everywhere: true }) { ended } }",
                json!({ "t": second["refreshToken"] }),
            )
            .await;
        assert_eq!(out["logout"]["ended"], false);
        assert_eq!(
            app.with_token(fresh["accessToken"].as_str().expect("access"))
                .data(VIEWER, json!({}))
                .await["viewer"]["role"],
            "STAFF"
        );
    }
);

both!(
    api_keys_identify_partners_until_revoked,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let fond = fx
            .organization("nordfonden", "Nordfonden", OrganizationKind::Foundation, None)
            .await;
        let admin = app.signed_in(As::Admin, &[], None).await;
        let created = admin
        .data(
            "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { id prefix scopes organization { slug } } userErrors { field } } }",
            json!({ "i": { "organizationId": lup_tests::fixture::global_id("Organization", fond), "name": "Nordfondens portal" } }),
        )
        .await;
        let key = created["createApiKey"]["key"].as_str().expect("key").to_owned();
        let prefix = created["createApiKey"]["apiKey"]["prefix"]
            .as_str()
            .expect("prefix");
        assert!(key.starts_with(&format!("lup_{prefix}_")), "{key}");
        assert_eq!(
            created["createApiKey"]["apiKey"]["scopes"],
            json!(["READ", "EXPRESS_INTEREST"])
        );

        let partner = app.with_credentials("x-api-key", &key);
        let viewer = partner.data(VIEWER, json!({})).await;
        assert_eq!(viewer["viewer"]["role"], "PARTNER");
        // A key and a bearer token together name two callers: refused, saying so. Two
        // Authorization headers, whichever comes first, and two keys likewise; the challenge
        // asks for a key where only keys were sent.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let (_, bearer) = staff.credentials.clone().expect("a token");
        let bearer_challenge = r#"Bearer error="invalid_token""#;
        let key_challenge = r#"ApiKey realm="LUP", header="X-Api-Key""#;
        for (sent, challenge) in [
            (
                [("authorization", bearer.as_str()), ("x-api-key", key.as_str())],
                bearer_challenge,
            ),
            (
                [
                    ("authorization", bearer.as_str()),
                    ("authorization", "Bearer skrald"),
                ],
                bearer_challenge,
            ),
            (
                [
                    ("authorization", "Bearer skrald"),
                    ("authorization", bearer.as_str()),
                ],
                bearer_challenge,
            ),
            (
                [("x-api-key", key.as_str()), ("x-api-key", key.as_str())],
                key_challenge,
            ),
        ] {
            let mut request = app.client.post(app.url("/graphql"));
            for (name, value) in sent {
                request = request.header(name, value);
            }
            let refused = request
                .json(&json!({ "query": VIEWER }))
                .send()
                .await
                .expect("request");
            assert_eq!(refused.status().as_u16(), 401, "{sent:?}");
            assert_eq!(refused.headers()["www-authenticate"], challenge, "{sent:?}");
            let body: Value = refused.json().await.expect("json");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                "{body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains("not both, not two"), "{body}");
        }
        assert_eq!(viewer["viewer"]["organization"]["slug"], "nordfonden");
        // The key is stored as a hash only: its text is nowhere in the database.
        let listed = admin
            .data("{ apiKeys { nodes { prefix name } } }", json!({}))
            .await;
        assert_eq!(listed["apiKeys"]["nodes"][0]["name"], "Nordfondens portal");

        let id = created["createApiKey"]["apiKey"]["id"].clone();
        let revoked = admin
            .data(
                "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }",
                json!({ "id": id }),
            )
            .await;
        assert!(revoked["revokeApiKey"]["apiKey"]["revokedAt"].is_string());
        assert_refused(with_auth(&app, "x-api-key", &key).await, "revoked key");
        assert_refused(
            with_auth(&app, "x-api-key", "lup_ukendt00_abc").await,
            "unknown key",
        );
        // Each refused scheme is challenged as itself: a key is not asked for a bearer token.
        for (header, value, challenge) in [
            (
                "x-api-key",
                "lup_ukendt00_abc",
                r#"ApiKey realm="LUP", header="X-Api-Key""#,
            ),
            (
                "authorization",
                "Bearer ikke-et-token",
                r#"Bearer error="invalid_token""#,
            ),
        ] {
            let response = viewer_with(&app, header, value).await;
            assert_eq!(response.status(), 401);
            assert_eq!(
                response.headers()["www-authenticate"].to_str().unwrap(),
                challenge,
                "{header}"
            );
        }
        // Reading is always granted, and each scope is held once however often it is named.
        let repeated = admin
        .data(
            "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { scopes } } }",
            json!({ "i": { "organizationId": lup_tests::fixture::global_id("Organization", fond), "name": "Gentaget", "scopes": ["EXPRESS_INTEREST", "READ", "EXPRESS_INTEREST"] } }),
        )
        .await;
        assert_eq!(
            repeated["createApiKey"]["apiKey"]["scopes"],
            json!(["READ", "EXPRESS_INTEREST"])
        );
    }
);

both!(
    external_identity_provider_tokens_map_a_claim_to_a_role,
    external_idp,
    |app: TestApp| async move {
        let key = EncodingKey::from_rsa_pem(include_bytes!("../../keys/idp-test-private.pem")).expect("key");
        let now = chrono::Utc::now().timestamp();
        let token = |role: &str, iss: &str| {
            let claims = json!({ "sub": "k1234", "lup_role": role, "aud": "lup-api", "iss": iss, "iat": now, "exp": now + 600 });
            encode(&Header::new(Algorithm::RS256), &claims, &key).expect("sign")
        };
        let ok = with_auth(
            &app,
            "authorization",
            &format!(
                "Bearer {}",
                token("landdistrikt-koordinator", "https://login.jammerbugt.dk")
            ),
        )
        .await;
        assert_eq!(ok.1["data"]["viewer"]["role"], "STAFF", "{}", ok.1);
        // Issued a day from now: beyond any clock skew, not taken.
        let claims = json!({ "sub": "k1234", "lup_role": "landdistrikt-koordinator", "aud": "lup-api",
                             "iss": "https://login.jammerbugt.dk", "iat": now + 86_400, "exp": now + 90_000 });
        let ahead = encode(&Header::new(Algorithm::RS256), &claims, &key).expect("sign");
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {ahead}")).await,
            "issued in the future",
        );
        let unmapped = token("kantine", "https://login.jammerbugt.dk");
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {unmapped}")).await,
            "unmapped role",
        );
        let issuer = token("landdistrikt-koordinator", "https://andet.example");
        assert_refused(
            with_auth(&app, "authorization", &format!("Bearer {issuer}")).await,
            "external issuer",
        );
    }
);

#[tokio::test]
async fn production_refuses_to_start_without_a_secret_of_its_own() {
    let path = std::env::temp_dir().join(format!("lup-test-{}.db", uuid::Uuid::now_v7()));
    let mut config = lup_api::config::Config::for_database(format!("sqlite://{}?mode=rwc", path.display()));
    config.auth.app_env = AppEnv::Production;
    for (secret, expected) in [
        (None, "JWT_SECRET is not set"),
        (Some(DEVELOPMENT_JWT_SECRET), "the development secret"),
        (Some("kort"), "shorter than 32 bytes"),
    ] {
        config.auth.jwt_secret = secret.map(Secret::new);
        let error = match lup_api::startup::spawn(&config).await {
            Ok(_) => panic!("started with {secret:?}"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains(expected), "{error}");
    }
    config.auth.jwt_secret = Some(Secret::new("en-rigtig-hemmelighed-paa-mindst-32-bytes"));
    let server = lup_api::startup::spawn(&config)
        .await
        .expect("starts with a secret of its own");
    // Demo accounts and the demo key from a development run (the README publishes their
    // secrets) do not work once the server starts in production. (The demo key belongs to a
    // foundation.)
    lup_tests::fixture::Fixture::new(&server.state.db)
        .demo_foundation()
        .await;
    lup_api::seed::accounts::load_if_none(&server.state.db)
        .await
        .expect("demo accounts");
    server.stop().await;
    let server = lup_api::startup::spawn(&config).await.expect("restarts");
    let app = lup_tests::TestApp::attach(&server);
    let q = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
    let input =
        json!({ "i": { "email": "admin@lup.test", "password": lup_api::seed::accounts::DEMO_PASSWORD } });
    assert_eq!(app.error(q, input).await.0, "UNAUTHENTICATED");
    assert_refused(
        with_auth(&app, "x-api-key", lup_api::seed::accounts::DEMO_API_KEY).await,
        "demo key",
    );
    // On the record, as the server at start in production, each once (a second restart
    // finds nothing left to do).
    server.stop().await;
    let server = lup_api::startup::spawn(&config).await.expect("restarts again");
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let audited = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::ActorLabel.eq("system:production"))
        .all(&server.state.db)
        .await
        .expect("the audit log");
    let mut what: Vec<(String, String, String)> = audited
        .iter()
        .map(|a| (a.entity.clone(), a.operation.clone(), a.changes.clone()))
        .collect();
    what.sort();
    assert_eq!(what.len(), 4, "{what:#?}");
    assert!(
        what[..3]
            .iter()
            .all(|(e, op, changes)| e == "Account" && op == "UPDATE" && changes.contains("\"disabled\"")),
        "{what:#?}"
    );
    assert!(
        what[3].0 == "ApiKey" && what[3].1 == "UPDATE" && what[3].2.contains("revoked_at"),
        "{what:#?}"
    );
    server.stop().await;
    let _ = std::fs::remove_file(&path);
}

// A password is kept as it is given, spaces at either end included, and signing in takes it
// the same way: an account whose password ends with a space can sign in with it (and only
// with it). A password of white space only, or with a control character, is refused.
both!(
    a_password_is_signed_in_with_as_it_was_set,
    |app: TestApp| async move {
        let admin = app.signed_in(As::Admin, &[], None).await;
        let create = "mutation($i: CreateAccountInput!) { createAccount(input: $i) {
            account { id } userErrors { field code } } }";
        let body = admin
            .data(
                create,
                json!({ "i": { "email": "mellemrum@lup.test", "displayName": "Mellemrum",
                               "role": "STAFF", "password": " kodeord med mellemrum " } }),
            )
            .await;
        assert!(body["createAccount"]["account"]["id"].is_string(), "{body}");
        // Staff read the audit log, admins the accounts: the log keeps no email.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff
            .data(
                "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation changes } } }",
                json!({ "id": body["createAccount"]["account"]["id"] }),
            )
            .await;
        assert_eq!(
            log["auditLog"]["nodes"][0]["changes"]["email"]["after"], "[personoplysning]",
            "{log}"
        );
        assert!(!log.to_string().contains("mellemrum@lup.test"), "{log}");
        let login = app.login("mellemrum@lup.test", " kodeord med mellemrum ").await;
        assert!(login["accessToken"].is_string(), "{login}");
        let q = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
        let (code, _) = app
            .error(
                q,
                json!({ "i": { "email": "mellemrum@lup.test", "password": "kodeord med mellemrum" } }),
            )
            .await;
        assert_eq!(code, "UNAUTHENTICATED");
        for (password, expected) in [
            (" ".repeat(20), "REQUIRED"),
            ("kodeord\u{7}med-klokke".into(), "INVALID"),
        ] {
            let body = admin
                .data(
                    create,
                    json!({ "i": { "email": "anden@lup.test", "displayName": "Anden",
                                   "role": "STAFF", "password": password } }),
                )
                .await;
            assert!(body["createAccount"]["account"].is_null(), "{body}");
            assert_eq!(
                body["createAccount"]["userErrors"],
                json!([{ "field": ["password"], "code": expected }]),
                "{password:?}"
            );
        }
    }
);

// The communities an editor edits are part of the account: changing them alone moves its
// version (a second admin holding the old one gets a conflict) and is in the audit log, in
// one record with whatever else the same change did.
both!(
    an_editors_communities_are_versioned_and_recorded,
    |app: TestApp| async move {
        let fx = lup_tests::fixture::Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let tranum = fx.community("tranum", "Tranum").await;
        let saltum = fx.community("saltum", "Saltum").await;
        let community = |id| lup_tests::fixture::global_id("Community", id);
        let admin = app.signed_in(As::Admin, &[], None).await;
        let body = admin
            .data(
                "mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id version } } }",
                json!({ "i": { "email": "redaktoer@lup.test", "displayName": "Redaktør",
                               "role": "COMMUNITY_EDITOR", "password": "en-lang-adgangskode-1",
                               "communityIds": [community(gjol)] } }),
            )
            .await;
        let id = body["createAccount"]["account"]["id"].clone();
        let update = "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) {
            account { version displayName communities { slug } } userErrors { field code } } }";
        let audit = "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation changes } } }";
        // The account's records, newest first; and an update of it with `input`.
        let records = || {
            let (admin, id) = (&admin, &id);
            async move { admin.data(audit, json!({ "id": id })).await["auditLog"]["nodes"].clone() }
        };
        let save = |input: Value| {
            let (admin, id) = (&admin, &id);
            async move {
                let mut input = input;
                input["id"] = id.clone();
                admin.data(update, json!({ "i": input })).await["updateAccount"].clone()
            }
        };
        let log = records().await;
        assert_eq!(
            log.as_array().map(Vec::len),
            Some(1),
            "one record for the new account: {log}"
        );
        assert_eq!(log[0]["operation"], "CREATE");
        assert_eq!(
            log[0]["changes"]["community_ids"]["after"],
            json!([gjol.to_string()])
        );

        let body = save(json!({ "version": 1, "communityIds": [community(gjol), community(tranum)] })).await;
        assert_eq!(body["account"]["version"], 2, "{body}");
        assert_eq!(
            body["account"]["communities"],
            json!([{ "slug": "gjoel" }, { "slug": "tranum" }])
        );
        let (code, _) = admin
            .error(
                update,
                json!({ "i": { "id": id, "version": 1, "communityIds": [community(saltum)] } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let log = records().await;
        assert_eq!(log.as_array().map(Vec::len), Some(2), "{log}");
        let mut both = vec![gjol.to_string(), tranum.to_string()];
        both.sort();
        assert_eq!(
            log[0]["changes"]["community_ids"],
            json!({ "before": [gjol.to_string()], "after": both })
        );

        // The name and the communities in one change: one record with both.
        let body = save(json!({ "version": 2, "displayName": "Ny redaktør",
                                "communityIds": [community(saltum)] }))
        .await;
        assert_eq!(body["account"]["version"], 3, "{body}");
        let log = records().await;
        assert_eq!(log.as_array().map(Vec::len), Some(3), "{log}");
        assert_eq!(log[0]["changes"]["display_name"]["after"], "Ny redaktør");
        assert_eq!(
            log[0]["changes"]["community_ids"]["after"],
            json!([saltum.to_string()])
        );

        // The same again: nothing changes, nothing is recorded.
        let body = save(json!({ "version": 3, "displayName": "Ny redaktør",
                                "communityIds": [community(saltum)] }))
        .await;
        assert_eq!(body["account"]["version"], 3, "{body}");
        let log = records().await;
        assert_eq!(log.as_array().map(Vec::len), Some(3), "{log}");
    }
);

// Two admins disabling each other at the same moment: the caller is read again inside the
// write, so the second to write finds itself disabled and changes nothing. Both used to
// succeed (most runs on either database), leaving no admin but the command line.
both!(
    two_admins_disabling_each_other_leave_one,
    |app: TestApp| async move {
        let update = "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) {
        account { disabled } userErrors { code } } }";
        for round in 0..4 {
            let (a, b) = (format!("a{round}@lup.test"), format!("b{round}@lup.test"));
            let ids = [
                app.create_account(&a, As::Admin, &[]).await,
                app.create_account(&b, As::Admin, &[]).await,
            ];
            let mut admins = Vec::new();
            for email in [&a, &b] {
                let login = app.login(email, PASSWORD).await;
                admins.push(app.with_token(login["accessToken"].as_str().expect("a token")));
            }
            let disable = |caller: &TestApp, other: uuid::Uuid| {
                let caller = caller.clone_handle();
                let input = json!({ "i": { "id": lup_tests::fixture::global_id("Account", other),
                                       "version": 1, "disabled": true } });
                tokio::spawn(async move { caller.post_status(update, input).await })
            };
            let first = disable(&admins[0], ids[1]);
            let second = disable(&admins[1], ids[0]);
            let answers = [first.await.expect("a"), second.await.expect("b")];
            let disabled: Vec<bool> = {
                use sea_orm::EntityTrait;
                let mut out = Vec::new();
                for id in ids {
                    let row = entity::account::Entity::find_by_id(id)
                        .one(&app.db)
                        .await
                        .expect("read")
                        .expect("the account");
                    out.push(row.disabled);
                }
                out
            };
            assert_eq!(
                disabled.iter().filter(|d| **d).count(),
                1,
                "round {round}: exactly one disabled: {answers:?}"
            );
        }
    }
);

// Communities are an editor's: given for another role they are refused, as at creation
// (they were ignored without a word).
both!(only_an_editor_is_given_communities, |app: TestApp| async move {
    let gjol = lup_tests::fixture::Fixture::new(&app.db)
        .community("gjoel", "Gjøl")
        .await;
    let staff = app.create_account("medarbejder@lup.test", As::Staff, &[]).await;
    let admin = app.signed_in(As::Admin, &[], None).await;
    let body = admin
        .data(
            "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) {
                account { version } userErrors { field code } } }",
            json!({ "i": { "id": lup_tests::fixture::global_id("Account", staff), "version": 1,
                           "communityIds": [lup_tests::fixture::global_id("Community", gjol)] } }),
        )
        .await;
    assert_eq!(
        body["updateAccount"]["userErrors"],
        json!([{ "field": ["communityIds"], "code": "INVALID" }]),
        "{body}"
    );
});

// A new password is in the audit log as a change of `password`, never with the hash (the
// record was empty, so a reset could not be told from an update that changed nothing).
both!(
    a_password_reset_is_audited_without_the_hash,
    |app: TestApp| async move {
        let staff = app.create_account("medarbejder@lup.test", As::Staff, &[]).await;
        let admin = app.signed_in(As::Admin, &[], None).await;
        let id = lup_tests::fixture::global_id("Account", staff);
        let body = admin
        .data(
            "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) { account { version } userErrors { code } } }",
            json!({ "i": { "id": id, "version": 1, "password": "en-helt-ny-adgangskode" } }),
        )
        .await;
        assert_eq!(body["updateAccount"]["userErrors"], json!([]), "{body}");
        let log = admin
        .data(
            "query($id: ID!) { auditLog(filter: { entityId: $id, operation: \"UPDATE\" }) { nodes { changes } } }",
            json!({ "id": id }),
        )
        .await;
        let change = &log["auditLog"]["nodes"][0]["changes"]["password"];
        let (before, after) = (change["before"].as_str(), change["after"].as_str());
        assert!(
            before.is_some_and(|b| b.starts_with("[skjult"))
                && after.is_some_and(|a| a.starts_with("[skjult"))
                && before != after,
            "{log}"
        );
        assert!(!log.to_string().contains("argon2"), "{log}");
    }
);

// `viewer.mayEditCommunity` answers for communities that exist: a made-up ID is false for
// everyone, staff included (it said true for staff, who may edit every community there is).
both!(
    may_edit_community_is_false_for_a_community_that_does_not_exist,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let other = fx.community("fjerritslev", "Fjerritslev").await;
        let made_up = uuid::Uuid::now_v7();
        let q = "query($id: ID!) { viewer { mayEditCommunity(communityId: $id) } }";
        let staff = app.signed_in(As::Staff, &[], None).await;
        let editor = app.signed_in(As::CommunityEditor, &[gjol], None).await;
        for (who, client, community, expected) in [
            ("staff", &staff, gjol, true),
            ("staff", &staff, made_up, false),
            ("editor", &editor, gjol, true),
            ("editor", &editor, other, false),
            ("editor", &editor, made_up, false),
        ] {
            let id = lup_tests::fixture::global_id("Community", community);
            let body = client.data(q, json!({ "id": id })).await;
            assert_eq!(body["viewer"]["mayEditCommunity"], expected, "{who}: {body}");
        }
    }
);

// `lup revoke-api-key` takes a prefix or the whole key: a whole key must be that key (a wrong
// secret revoked the key of its prefix), a secret is never printed back, white space around
// is not part of it, and a key revoked already is said to be.
both!(
    revoking_a_key_from_the_command_line_checks_a_whole_key,
    |app: TestApp| async move {
        use lup_api::cli::{Revoked, revoke_api_key};
        let fx = Fixture::new(&app.db);
        let org = fx
            .organization("nordfonden", "Nordfonden", OrganizationKind::Foundation, None)
            .await;
        let key = app.create_api_key(org).await;
        let prefix = key.split('_').nth(1).expect("a prefix").to_owned();
        let wrong = format!("lup_{prefix}_et-andet-hemmeligt-ord");
        let refused = revoke_api_key(&app.db, &wrong)
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(refused.contains(&prefix), "{refused}");
        assert!(!refused.contains("et-andet-hemmeligt-ord"), "{refused}");
        let partner = app.with_credentials("x-api-key", &key);
        assert_eq!(
            partner.data("{ viewer { role } }", json!({})).await["viewer"]["role"],
            "PARTNER",
            "the key still works"
        );
        let unknown = revoke_api_key(&app.db, " lup_ukendt_hemmelig ")
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(!unknown.contains("hemmelig"), "{unknown}");
        assert!(matches!(
            revoke_api_key(&app.db, &format!("  {key}\n")).await,
            Ok(Revoked::Now)
        ));
        assert!(matches!(
            revoke_api_key(&app.db, &prefix).await,
            Ok(Revoked::Already(_))
        ));
        let (status, _) = partner.post_status("{ viewer { role } }", json!({})).await;
        assert_eq!(status, 401, "a revoked key is refused");
    }
);

// An admin's own account: not disabled, not demoted, and its password changed only through
// changePassword with the current one (a token taken from an admin set a new password and
// signed the real admin out everywhere). Each refusal is on the field it concerns.
both!(
    an_admin_cannot_take_over_or_lock_out_their_own_account,
    |app: TestApp| async move {
        let admin = app.signed_in(As::Admin, &[], None).await;
        let me = admin
            .data("{ viewer { account { id version } } }", json!({}))
            .await["viewer"]["account"]
            .clone();
        let update = "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) {
            account { version } userErrors { field code message } } }";
        for (field, value, message) in [
            ("password", json!("en-helt-ny-adgangskode"), "changePassword"),
            ("disabled", json!(true), "disable"),
            ("role", json!("STAFF"), "demote"),
        ] {
            let mut input = json!({ "id": me["id"], "version": me["version"] });
            input[field] = value;
            let body = admin.data(update, json!({ "i": input })).await["updateAccount"].clone();
            assert!(body["account"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], json!([field]), "{body}");
            assert_eq!(body["userErrors"][0]["code"], "INVALID", "{body}");
            assert!(
                body["userErrors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(message)),
                "{body}"
            );
        }
        // Nothing changed, and the session that tried still works.
        let after = admin
            .data("{ viewer { role account { version } } }", json!({}))
            .await;
        assert_eq!(after["viewer"]["role"], "ADMIN", "{after}");
        assert_eq!(after["viewer"]["account"]["version"], me["version"], "{after}");
    }
);

// The audit log's filters take what it records, in any case; anything else is a clear
// BAD_USER_INPUT naming what it takes (a typo read as "nobody changed anything").
both!(
    audit_log_filters_take_only_what_the_log_records,
    |app: TestApp| async move {
        let account = app
            .create_account("koordinator@jammerbugt.dk", As::Staff, &[])
            .await;
        app.login("koordinator@jammerbugt.dk", PASSWORD).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let q = "query($f: AuditLogFilter) { auditLog(filter: $f) { totalCount } }";
        let by_account = lup_tests::fixture::global_id("Account", account);
        for f in [
            json!({ "operation": "login" }),
            json!({ "operation": "LOGIN", "entityType": "account" }),
            json!({ "operation": "LOGIN", "actorId": by_account }),
        ] {
            let body = staff.data(q, json!({ "f": f })).await;
            assert!(
                body["auditLog"]["totalCount"].as_i64().is_some_and(|n| n >= 1),
                "{f}: {body}"
            );
        }
        for (f, names) in [
            (json!({ "operation": "LOGON" }), "REFRESH_TOKEN"),
            (json!({ "entityType": "Foo" }), "ConsultationResponse"),
            // An actor is an account or an API key: a community's ID is not taken for "no one".
            (
                json!({ "actorId": lup_tests::fixture::global_id("Community", account) }),
                "is the ID of a Community, not of an Account or an ApiKey",
            ),
        ] {
            let (code, message) = staff.error(q, json!({ "f": f })).await;
            assert_eq!(code, "BAD_USER_INPUT", "{f}: {message}");
            assert!(message.contains(names), "{f}: {message}");
        }
    }
);

// What an admin looking into a break-in needs is in the audit log: failed sign-ins of an
// account, and a copied refresh token presented again (its session ended).
both!(
    failed_sign_ins_and_copied_refresh_tokens_are_in_the_audit_log,
    |app: TestApp| async move {
        let email = "koordinator@jammerbugt.dk";
        app.create_account(email, As::Staff, &[]).await;
        let q = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
        let (code, _) = app
            .error(
                q,
                json!({ "i": { "email": email, "password": "forkert-adgangskode" } }),
            )
            .await;
        assert_eq!(code, "UNAUTHENTICATED");
        // An address with no account leaves nothing.
        app.error(
            q,
            json!({ "i": { "email": "ingen@jammerbugt.dk", "password": "forkert-adgangskode" } }),
        )
        .await;
        let login = app.login(email, PASSWORD).await;
        let refresh = "mutation($i: RefreshTokenInput!) { refreshToken(input: $i) { refreshToken } }";
        let first = json!({ "i": { "refreshToken": login["refreshToken"] } });
        app.data(refresh, first.clone()).await;
        let (code, _) = app.error(refresh, first).await;
        assert_eq!(code, "UNAUTHENTICATED", "a used token presented again");
        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff
            .data(
                "{ auditLog(filter: { entityType: \"Account\" }, first: 20) { nodes { operation actor { label } } } }",
                json!({}),
            )
            .await;
        let ops: Vec<(String, String)> = log["auditLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["actor"]["label"] == "Test koordinator")
            .map(|n| {
                (
                    n["operation"].as_str().unwrap_or_default().to_owned(),
                    n["actor"]["label"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let names: Vec<&str> = ops.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(
            names,
            ["REFRESH_TOKEN_REUSED", "REFRESH_TOKEN", "LOGIN", "LOGIN_FAILED"],
            "{log}"
        );
        assert!(!log.to_string().contains("ingen@jammerbugt.dk"), "{log}");
    }
);

// An admin changes the address an account signs in with: the new one signs in, the old one no
// longer does; another account's address, a malformed one or null is refused and changes
// nothing.
both!(
    an_admin_changes_the_email_an_account_signs_in_with,
    |app: TestApp| async move {
        let admin = app.signed_in(As::Admin, &[], None).await;
        let id = app
            .create_account("lene.vestergaard@jammerbugt.dk", As::Staff, &[])
            .await;
        app.create_account("koordinator@jammerbugt.dk", As::Staff, &[])
            .await;
        let session = app.login("lene.vestergaard@jammerbugt.dk", PASSWORD).await;
        let update = "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) {
            account { email version } userErrors { field code } } }";
        let account = lup_tests::fixture::global_id("Account", id);
        for (email, code) in [
            (json!("KOORDINATOR@jammerbugt.dk"), "TAKEN"),
            (json!("lene@jammerbugt"), "INVALID"),
            (json!("Lene <lene@jammerbugt.dk>"), "INVALID"),
            (json!(null), "REQUIRED"),
        ] {
            let r = admin
                .data(
                    update,
                    json!({ "i": { "id": account, "version": 1, "email": email } }),
                )
                .await;
            assert_eq!(
                r["updateAccount"]["userErrors"],
                json!([{ "field": ["email"], "code": code }]),
                "{email}"
            );
        }
        let r = admin
            .data(
                update,
                json!({ "i": { "id": account, "version": 1, "email": " Lene.Vestergaard@Jammerbugt.dk " } }),
            )
            .await;
        assert_eq!(r["updateAccount"]["userErrors"], json!([]), "{r}");
        assert_eq!(
            r["updateAccount"]["account"],
            json!({ "email": "lene.vestergaard@jammerbugt.dk", "version": 1 }),
            "the same address in other case is no change"
        );
        let r = admin
            .data(
                update,
                json!({ "i": { "id": account, "version": 1, "email": "lene.v@jammerbugt.dk" } }),
            )
            .await;
        assert_eq!(
            r["updateAccount"]["account"],
            json!({ "email": "lene.v@jammerbugt.dk", "version": 2 })
        );
        assert!(app.login("lene.v@jammerbugt.dk", PASSWORD).await["accessToken"].is_string());
        let q = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
        let old = json!({ "i": { "email": "lene.vestergaard@jammerbugt.dk", "password": PASSWORD } });
        assert_eq!(app.error(q, old).await.0, "UNAUTHENTICATED");
        // Signed in before: still signed in, under the new address.
        assert_eq!(
            app.with_token(session["accessToken"].as_str().expect("access"))
                .data(VIEWER, json!({}))
                .await["viewer"]["account"]["email"],
            "lene.v@jammerbugt.dk"
        );
    }
);

// Guessing passwords: a request checks one password (aliases of `login` are refused before
// any runs), and after ten failures with one address the address is held back from that
// client for fifteen minutes (429, `Retry-After`), the right password included. An address
// with no account is held back alike, so the refusal tells nothing of who has an account.
both!(password_guesses_are_held_back, |app: TestApp| async move {
    app.create_account("koordinator@jammerbugt.dk", As::Staff, &[])
        .await;
    let aliased = format!(
            "mutation {{ a: login(input: {{ email: \"koordinator@jammerbugt.dk\", password: \"gæt-1\" }}) {{ accessToken }}
                        ...Again }}
             fragment Again on Mutation {{ b: login(input: {{ email: \"koordinator@jammerbugt.dk\", password: \"{PASSWORD}\" }}) {{ accessToken }} }}"
        );
    let (status, body) = app.post_status(&aliased, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("data").is_none(), "nothing ran: {body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("one password"),
        "{body}"
    );

    let login = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
    let attempt = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let response = app
                    .client
                    .post(app.url("/graphql"))
                    .json(&json!({ "query": login, "variables": { "i": { "email": email, "password": password } } }))
                    .send()
                    .await
                    .expect("sent");
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: Value = response.json().await.unwrap();
            (status, retry, body)
        }
    };
    for email in ["koordinator@jammerbugt.dk", "ingen@jammerbugt.dk"] {
        for i in 0..10 {
            let (_, _, body) = attempt(email, "forkert-adgangskode").await;
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                "{email} #{i}: {body}"
            );
        }
        let (status, retry, body) = attempt(email, PASSWORD).await;
        assert_eq!(status, 429, "{email}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
        let secs: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!((800..=900).contains(&secs), "about fifteen minutes: {secs}");
    }
    // Another casing and spaces are the same address.
    let (status, _, _) = attempt(" Koordinator@JammerBugt.dk ", PASSWORD).await;
    assert_eq!(status, 429);
    // Only those addresses: a colleague still signs in.
    app.create_account("kollega@jammerbugt.dk", As::Staff, &[]).await;
    assert!(app.login("kollega@jammerbugt.dk", PASSWORD).await["accessToken"].is_string());

    // No guess signed in: the account's record has the failures and no sign-in.
    let staff = app.signed_in(As::Staff, &[], None).await;
    let log = staff
        .data(
            "{ failed: auditLog(filter: { operation: \"LOGIN_FAILED\" }) { totalCount }
                   signedIn: auditLog(filter: { operation: \"LOGIN\" }) { nodes { actor { label } } } }",
            json!({}),
        )
        .await;
    assert_eq!(log["failed"]["totalCount"], 10, "{log}");
    assert!(!log["signedIn"].to_string().contains("koordinator@"), "{log}");
});

// A stolen access token does not open a way to guess the account's password either: the
// current password given to changePassword is counted as a sign-in's is.
both!(
    current_password_guesses_are_held_back,
    |app: TestApp| async move {
        app.create_account("redaktoer@jammerbugt.dk", As::Staff, &[])
            .await;
        let token = app.login("redaktoer@jammerbugt.dk", PASSWORD).await["accessToken"]
            .as_str()
            .expect("token")
            .to_owned();
        let me = app.with_token(&token);
        let change =
            "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { userErrors { field code } } }";
        let guess =
            json!({ "i": { "currentPassword": "et-gæt-på-koden", "newPassword": "en-helt-ny-adgangskode" } });
        for i in 0..10 {
            let body = me.data(change, guess.clone()).await;
            assert_eq!(
                body["changePassword"]["userErrors"],
                json!([{ "field": ["currentPassword"], "code": "INVALID" }]),
                "#{i}: {body}"
            );
        }
        let (status, body) = me
            .post_status(
                change,
                json!({ "i": { "currentPassword": PASSWORD, "newPassword": "en-helt-ny-adgangskode" } }),
            )
            .await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
        // The password is unchanged.
        assert!(app.login("redaktoer@jammerbugt.dk", PASSWORD).await["accessToken"].is_string());
    }
);

// An admin erases the personal data of a disabled account: the row stays (the audit log's
// records still name it by ID), with no email, name, password, communities or sessions of the
// person; the audit log keeps neither the email its acts were signed with nor the names its
// records showed; the email is free again. Refused for an enabled account, one's own, other
// roles, a made-up ID and a stale version, each changing nothing.
both!(an_admin_erases_a_disabled_account, |app: TestApp| async move {
    const ERASE: &str = "mutation($i: EraseAccountInput!) { eraseAccount(input: $i) {
            account { id email displayName disabled communities { slug } version }
            userErrors { field code message } } }";
    const UPDATE: &str = "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) {
            account { version } userErrors { field code } } }";
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let plan = fx
        .plan(
            gjol,
            "Gjøl 2026",
            lup_tests::fixture::PlanStatus::Adopted,
            2025,
            2028,
        )
        .await;
    let action = lup_tests::fixture::global_id("Action", fx.action(plan, "Havnebad").await);
    app.create_account("tidligere@gjoel.dk", As::CommunityEditor, &[gjol])
        .await;
    // The editor signs in (the log signs it with the email), and is renamed by an admin.
    let login = app.login("tidligere@gjoel.dk", PASSWORD).await;
    assert!(login["accessToken"].is_string(), "{login}");
    let admin = app.signed_in(As::Admin, &[], None).await;
    let accounts = admin
        .data("{ accounts { nodes { id email version } } }", json!({}))
        .await;
    let editor = accounts["accounts"]["nodes"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["email"] == "tidligere@gjoel.dk")
        .expect("the editor")
        .clone();
    let id = editor["id"].clone();
    let renamed = admin
        .data(
            UPDATE,
            json!({ "i": { "id": id, "version": editor["version"], "displayName": "Karen Kildegaard" } }),
        )
        .await;
    assert_eq!(renamed["updateAccount"]["userErrors"], json!([]), "{renamed}");
    let version = renamed["updateAccount"]["account"]["version"].clone();
    // Two progress notes: one signed by default (the account's name), one by the association.
    let editor_app = app.with_token(login["accessToken"].as_str().expect("token"));
    const NOTE: &str = "mutation($i: CreateActionUpdateInput!) { createActionUpdate(input: $i) {
        actionUpdate { id authorName } userErrors { field code } } }";
    let mut notes = Vec::new();
    for author in [None, Some("Gjøl Borgerforening")] {
        let mut input = json!({ "actionId": action, "body": "Vi er i gang med skitserne." });
        if let Some(a) = author {
            input["authorName"] = json!(a);
        }
        let note = editor_app.data(NOTE, json!({ "i": input })).await;
        notes.push(note["createActionUpdate"]["actionUpdate"].clone());
    }
    assert_eq!(notes[0]["authorName"], "Karen Kildegaard", "{notes:?}");

    // Not while it is enabled, and not by staff; neither changes anything.
    let body = admin
        .data(ERASE, json!({ "i": { "id": id, "version": version } }))
        .await;
    assert!(body["eraseAccount"]["account"].is_null(), "{body}");
    assert_eq!(body["eraseAccount"]["userErrors"][0]["field"], json!(["id"]));
    assert_eq!(body["eraseAccount"]["userErrors"][0]["code"], "INVALID");
    let staff = app.signed_in(As::Staff, &[], None).await;
    let (code, _) = staff
        .error(ERASE, json!({ "i": { "id": id, "version": version } }))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let disabled = admin
        .data(
            UPDATE,
            json!({ "i": { "id": id, "version": version, "disabled": true } }),
        )
        .await;
    let version = disabled["updateAccount"]["account"]["version"].clone();
    let (code, _) = admin
        .error(ERASE, json!({ "i": { "id": id, "version": 1 } }))
        .await;
    assert_eq!(code, "CONFLICT");
    let made_up = lup_tests::fixture::global_id("Account", uuid::Uuid::now_v7());
    let (code, _) = admin
        .error(ERASE, json!({ "i": { "id": made_up, "version": 1 } }))
        .await;
    assert_eq!(code, "NOT_FOUND");
    // Another type's ID, or no ID at all, is a user error on `id`.
    for bad in [
        lup_tests::fixture::global_id("Community", gjol),
        "ikke-et-id".to_owned(),
    ] {
        let body = admin
            .data(ERASE, json!({ "i": { "id": bad, "version": version } }))
            .await;
        assert!(body["eraseAccount"]["account"].is_null(), "{body}");
        assert_eq!(
            body["eraseAccount"]["userErrors"][0]["field"],
            json!(["id"]),
            "{body}"
        );
        assert_eq!(body["eraseAccount"]["userErrors"][0]["code"], "INVALID", "{body}");
    }
    let log_before = staff
        .data(
            "{ auditLog(first: 100) { totalCount nodes { actor { label } changes } } }",
            json!({}),
        )
        .await;
    // The log signs the account's acts with its name, never its email (staff read it).
    assert!(
        !log_before.to_string().contains("tidligere@gjoel.dk"),
        "{log_before}"
    );
    assert!(
        log_before["auditLog"]["nodes"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["actor"]["label"] == "Karen Kildegaard"),
        "{log_before}"
    );

    let body = admin
        .data(ERASE, json!({ "i": { "id": id, "version": version } }))
        .await;
    assert_eq!(body["eraseAccount"]["userErrors"], json!([]), "{body}");
    let erased = &body["eraseAccount"]["account"];
    assert_eq!(erased["id"], id);
    assert!(
        erased["email"]
            .as_str()
            .is_some_and(|e| e.starts_with("slettet-") && e.ends_with("@konto.invalid")),
        "{body}"
    );
    assert_eq!(erased["displayName"], "Slettet konto");
    assert_eq!(erased["disabled"], true);
    assert_eq!(erased["communities"], json!([]));
    // The note signed with the person's name is signed "Navn slettet"; the association's
    // keeps its signature.
    let signed = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Action { updates { nodes { id authorName } } } } }",
            json!({ "id": action }),
        )
        .await;
    let by_id = |id: &Value| {
        signed["node"]["updates"]["nodes"]
            .as_array()
            .expect("notes")
            .iter()
            .find(|n| n["id"] == *id)
            .map(|n| n["authorName"].clone())
    };
    assert_eq!(by_id(&notes[0]["id"]), Some(json!("Navn slettet")), "{signed}");
    assert_eq!(
        by_id(&notes[1]["id"]),
        Some(json!("Gjøl Borgerforening")),
        "{signed}"
    );
    // It cannot be brought back: an erased account is not changed.
    let revived = admin
        .data(
            UPDATE,
            json!({ "i": { "id": id, "version": erased["version"], "disabled": false } }),
        )
        .await;
    assert_eq!(
        revived["updateAccount"]["userErrors"][0]["code"], "INVALID",
        "{revived}"
    );
    // A failed sign-in with the address it keeps is told of, signed as erased.
    let q = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
    let (code, _) = app
        .error(
            q,
            json!({ "i": { "email": erased["email"], "password": PASSWORD } }),
        )
        .await;
    assert_eq!(code, "UNAUTHENTICATED");

    // Nothing of the person is left in the log; its records are there, by the ID.
    let log = staff
            .data(
                "{ auditLog(first: 100) { totalCount nodes { operation entityId actor { label nodeId } changes } } }",
                json!({}),
            )
            .await;
    let text = log.to_string();
    assert!(!text.contains("tidligere@gjoel.dk"), "{log}");
    assert!(!text.contains("Karen Kildegaard"), "{log}");
    assert!(!text.contains("Test tidligere"), "{log}");
    assert!(!text.contains("konto.invalid"), "{log}");
    assert!(text.contains("Gjøl Borgerforening"), "{log}");
    let nodes = log["auditLog"]["nodes"].as_array().expect("entries");
    assert!(
        nodes.iter().any(|e| e["operation"] == "LOGIN"
            && e["actor"]["label"] == "[slettet konto]"
            && e["actor"]["nodeId"] == id),
        "{log}"
    );
    assert!(
        nodes
            .iter()
            .any(|e| e["operation"] == "LOGIN_FAILED" && e["actor"]["label"] == "[slettet konto]"),
        "{log}"
    );
    assert_eq!(
        log["auditLog"]["totalCount"],
        log_before["auditLog"]["totalCount"].as_i64().unwrap() + 3,
        "three records more: the erasure's, the note's new signature's, the failed sign-in's"
    );
    // The old password no longer signs in, and the email may be used again.
    let (code, _) = app
        .error(
            q,
            json!({ "i": { "email": "tidligere@gjoel.dk", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
    let again = admin
            .data(
                "mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id } userErrors { field code } } }",
                json!({ "i": { "email": "tidligere@gjoel.dk", "displayName": "Ny person",
                               "role": "STAFF", "password": "en-helt-ny-adgangskode" } }),
            )
            .await;
    assert_eq!(again["createAccount"]["userErrors"], json!([]), "{again}");

    // One's own account is not erased.
    let me = admin
        .data("{ viewer { account { id version } } }", json!({}))
        .await;
    let body = admin
            .data(
                ERASE,
                json!({ "i": { "id": me["viewer"]["account"]["id"], "version": me["viewer"]["account"]["version"] } }),
            )
            .await;
    assert_eq!(body["eraseAccount"]["userErrors"][0]["code"], "INVALID", "{body}");
});

// A progress note by someone signed in at the identity provider is signed with the name its
// token gives, or "Kommunen": never with the provider's subject, which may be an email or a
// login name (the note is public).
both!(
    notes_by_an_external_identity_are_signed_with_its_name_not_its_subject,
    external_idp,
    |app: TestApp| async move {
        let key = EncodingKey::from_rsa_pem(include_bytes!("../../keys/idp-test-private.pem")).expect("key");
        let now = chrono::Utc::now().timestamp();
        let fx = lup_tests::fixture::Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let plan = fx
            .plan(
                gjol,
                "Gjøl 2025–2028",
                lup_tests::fixture::PlanStatus::Adopted,
                2025,
                2028,
            )
            .await;
        let action = fx.insert_action(fx.action_model(plan, "Shelterplads")).await;
        let action = lup_tests::fixture::global_id("Action", action);
        for (name, signed) in [
            (Some("  Mette   Frederiksen "), "Mette Frederiksen"),
            (None, "Kommunen"),
            (Some(""), "Kommunen"),
            // Direction controls and line breaks go; an address is no name.
            (Some("Mette\u{202E} Frederiksen\n"), "Mette Frederiksen"),
            (Some("mette.f@kommune.example"), "Kommunen"),
        ] {
            let mut claims = json!({ "sub": "mette.f@kommune.example", "lup_role": "landdistrikt-koordinator",
                                     "aud": "lup-api", "iss": "https://login.jammerbugt.dk", "iat": now, "exp": now + 600 });
            if let Some(n) = name {
                claims["name"] = json!(n);
            }
            let token = encode(&Header::new(Algorithm::RS256), &claims, &key).expect("sign");
            let body = app
                .with_token(&token)
                .data(
                    "mutation($i: CreateActionUpdateInput!) { createActionUpdate(input: $i) {
                       actionUpdate { authorName } userErrors { field code } } }",
                    json!({ "i": { "actionId": action, "body": "Tegningerne er klar." } }),
                )
                .await;
            assert_eq!(
                body["createActionUpdate"]["actionUpdate"]["authorName"], signed,
                "{name:?}: {body}"
            );
        }
        let notes = app
            .data(
                "query($id: ID!) { node(id: $id) { ... on Action { updates { nodes { authorName } } } } }",
                json!({ "id": action }),
            )
            .await;
        assert!(!notes.to_string().contains("mette.f@"), "{notes}");
    }
);

// Records signed with an account's email before the log signed with names are signed with
// the account's name by a migration (its step, run here again on records written as before);
// an erased account's stay `[slettet konto]`, and the other kinds of actor keep theirs.
both!(
    earlier_records_signed_with_an_email_are_signed_with_the_name,
    |app: TestApp| async move {
        use entity::audit_log;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let email = "koordinator@jammerbugt.dk";
        let account = app.create_account(email, As::Staff, &[]).await;
        app.login(email, PASSWORD).await;
        let other = app
            .create_account("tidligere@jammerbugt.dk", As::Staff, &[])
            .await;
        app.login("tidligere@jammerbugt.dk", PASSWORD).await;
        for (id, label) in [(account, email), (other, "[slettet konto]")] {
            audit_log::Entity::update_many()
                .col_expr(audit_log::Column::ActorLabel, Expr::value(label))
                .filter(audit_log::Column::ActorId.eq(id))
                .exec(&app.db)
                .await
                .expect("as before");
        }
        migration::account_actor_names(&migration::SchemaManager::new(&app.db))
            .await
            .expect("the step");
        let labels = |id: uuid::Uuid| {
            let db = app.db.clone();
            async move {
                audit_log::Entity::find()
                    .filter(audit_log::Column::ActorId.eq(id))
                    .all(&db)
                    .await
                    .expect("records")
                    .into_iter()
                    .map(|r| r.actor_label)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(labels(account).await, ["Test koordinator"]);
        assert_eq!(labels(other).await, ["[slettet konto]"]);
    }
);

/// The test identity provider: its public key, issuer, and a role claim mapped to staff.
fn external_idp(c: &mut lup_api::config::Config) {
    c.auth.external_jwt_public_key = Some(include_str!("../../keys/idp-test-public.pem").to_owned());
    c.auth.external_jwt_issuer = Some("https://login.jammerbugt.dk".into());
    c.auth.external_jwt_role_map = "landdistrikt-koordinator=STAFF".into();
}

/// The sign-in session (`sid`) the access token of a `login` answer names.
fn session_of(login: &Value) -> Value {
    let payload = login["accessToken"]
        .as_str()
        .and_then(|t| t.split('.').nth(1))
        .expect("a token's payload");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json");
    assert!(claims["sid"].is_string(), "{claims}");
    claims["sid"].clone()
}

/// A community for an editor's account.
async fn gjoel(app: &TestApp) -> uuid::Uuid {
    Fixture::new(&app.db).community("gjoel", "Gjøl").await
}
