//! The explorer: `GET /graphql` in a browser shows GraphiQL, whose every file this server
//! serves from the binary (`api/assets/graphiql/`: a pinned GraphiQL release and React from
//! the npm registry, see its README), so it works where no CDN can be reached.
//!
//! The page holds no inline script or style: its startup script and stylesheet are served
//! files too, and its `Content-Security-Policy` allows our own origin only (fonts and images
//! also as `data:` URLs, which GraphiQL's stylesheet inlines its fonts as). The assets live
//! under a path named by a hash of their contents, `/explorer/{version}/{file}`, and are
//! cached for a year (`immutable`); a new build with other assets has another path. They are
//! stored gzipped and sent so (`Content-Encoding: gzip`) to clients that accept it, and
//! unpacked once for a client that does not.
use std::sync::{LazyLock, OnceLock};

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// The page's policy: everything from our own origin, nothing inline, nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A served file: its name under `/explorer/{version}/`, its type, its bytes, and whether
/// they are gzipped.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    gzipped: bool,
}

macro_rules! vendored {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("../assets/graphiql/", $name, ".gz")),
            gzipped: true,
        }
    };
}

static ASSETS: [Asset; 6] = [
    vendored!("react.production.min.js", "text/javascript; charset=utf-8"),
    vendored!("react-dom.production.min.js", "text/javascript; charset=utf-8"),
    vendored!("graphiql.min.js", "text/javascript; charset=utf-8"),
    vendored!("graphiql.min.css", "text/css; charset=utf-8"),
    Asset {
        name: "explorer.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql/explorer.js"),
        gzipped: false,
    },
    Asset {
        name: "explorer.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql/explorer.css"),
        gzipped: false,
    },
];

/// The unpacked bytes of each gzipped asset, made when a client first needs them.
static UNPACKED: [OnceLock<Vec<u8>>; 6] = [const { OnceLock::new() }; 6];

/// The assets' version in their path: a hash of all of them.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut all = Vec::new();
    for a in &ASSETS {
        all.extend_from_slice(a.name.as_bytes());
        all.extend_from_slice(a.bytes);
    }
    crate::auth::secret::sha256_hex_bytes(&all)[..16].to_owned()
});

/// The page: GraphiQL's stylesheet and scripts, then ours that starts it.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let v = VERSION.as_str();
    format!(
        "<!doctype html>\n<html lang=\"da\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>LUP GraphQL – udforsker</title>\n\
         <link rel=\"stylesheet\" href=\"/explorer/{v}/graphiql.min.css\">\n\
         <link rel=\"stylesheet\" href=\"/explorer/{v}/explorer.css\">\n\
         </head>\n<body>\n<div id=\"graphiql\">Indlæser udforskeren …</div>\n\
         <script src=\"/explorer/{v}/react.production.min.js\"></script>\n\
         <script src=\"/explorer/{v}/react-dom.production.min.js\"></script>\n\
         <script src=\"/explorer/{v}/graphiql.min.js\"></script>\n\
         <script src=\"/explorer/{v}/explorer.js\"></script>\n\
         </body>\n</html>\n"
    )
});

/// `GET /graphql` for a browser: the explorer's page.
pub fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            // The page names the assets' version: a new build is seen at once.
            (header::CACHE_CONTROL, "no-cache"),
            (header::VARY, "Accept"),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

/// Whether the client takes a gzipped body (`Accept-Encoding: gzip`, or `*`, not with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding == "gzip" || coding == "*") && !refused
        })
}

fn unpack(gz: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    if let Err(e) = flate2::read::GzDecoder::new(gz).read_to_end(&mut out) {
        // The files are checked by the tests; this would be a broken build.
        tracing::error!(error = %e, "an embedded explorer asset does not unpack");
    }
    out
}

/// `GET /explorer/{version}/{file}`: an asset, cached for good; 404 for another version.
pub async fn asset(Path((version, name)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let found = ASSETS
        .iter()
        .enumerate()
        .find(|(_, a)| a.name == name)
        .filter(|_| version == *VERSION);
    let Some((i, asset)) = found else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such file: the explorer is at /graphql",
        )
            .into_response();
    };
    let gzip = asset.gzipped && accepts_gzip(&headers);
    let body: &'static [u8] = if asset.gzipped && !gzip {
        UNPACKED[i].get_or_init(|| unpack(asset.bytes)).as_slice()
    } else {
        asset.bytes
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response();
    if asset.gzipped {
        let h = response.headers_mut();
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if gzip {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(accept).unwrap());
        h
    }

    #[test]
    fn gzip_when_accepted() {
        assert!(accepts_gzip(&with("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&with("br;q=1.0, gzip;q=0.5")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br, identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn every_vendored_asset_unpacks() {
        for a in ASSETS.iter().filter(|a| a.gzipped) {
            assert!(unpack(a.bytes).len() > a.bytes.len(), "{}", a.name);
        }
        assert!(PAGE.contains(&format!("/explorer/{}/explorer.js", *VERSION)));
        assert!(
            !PAGE.contains("<script>") && !PAGE.contains("style="),
            "nothing inline"
        );
    }
}
