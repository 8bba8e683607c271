//! The route matrix: every route the web tier declares (read from the
//! source, so a new route cannot be missed), asked by every principal.
//! Each route's audience comes from its room (its path prefix); a route no
//! rule covers fails the test until it is given one. A role outside the
//! audience gets 403 (anonymous visitors: the login page); no request gets
//! a 5xx; and an application of another party is never served to an
//! enterprise, a city or an expert that may use the route.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use crate::helpers::{Client, DEMO_PASSWORD, TestApp, spawn};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Audience {
    Public,
    AnyUser,
    Enterprise,
    City,
    Province,
    Expert,
    /// The city and the province (a city's stamped files and 推荐表).
    Officials,
    /// 三权分立: accounts; lock-outs, sessions and policy; the audit log.
    SysAdmin,
    SecAdmin,
    Auditor,
}

/// The application's dossier, which the officials who may see it read too
/// (each checks the application's own access).
const SHARED_APPLY: &[&str] = &[
    "/apply/{id}",
    "/apply/{id}/versions",
    "/apply/{id}/diff",
    "/apply/{id}/document.docx",
];

/// Who a path is for, by its room.
fn audience(path: &str) -> Option<Audience> {
    use Audience::*;
    if SHARED_APPLY.contains(&path) {
        return Some(AnyUser);
    }
    if path.starts_with("/city/recommendation/files/")
        || path.starts_with("/city/recommendation/table.")
    {
        return Some(Officials);
    }
    let public = [
        "/",
        "/login",
        "/register",
        "/healthz",
        "/static/",
        "/tongzhi",
        "/gongshi",
        "/gonggao",
        "/anli",
        "/forms/",
    ];
    if path == "/" || public[1..].iter().any(|p| path.starts_with(p)) {
        return Some(Public);
    }
    let rooms = [
        ("/province/", Province),
        ("/admin/users", SysAdmin),
        ("/admin/security", SecAdmin),
        ("/admin/audit", Auditor),
        ("/expert", Expert),
        ("/city/", City),
        ("/apply", Enterprise),
        ("/account", AnyUser),
        ("/dashboard", AnyUser),
        ("/logout", AnyUser),
        // Attachments follow their application's access (checked below).
        ("/files/", AnyUser),
    ];
    rooms
        .iter()
        .find(|(p, _)| path.starts_with(p))
        .map(|(_, a)| *a)
}

/// Every (method, path) in `.route("…", get(…).post(…))` calls under src/web.
pub(crate) fn declared_routes() -> Vec<(Method, String)> {
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("src/web").flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web"),
        &mut paths,
    );
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).expect("read");
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + 7..];
            let Some(q0) = rest.find('"') else { break };
            let Some(q1) = rest[q0 + 1..].find('"') else {
                break;
            };
            let path = rest[q0 + 1..q0 + 1 + q1].to_string();
            // The handlers, up to the call's closing parenthesis.
            let after = &rest[q0 + 2 + q1..];
            let mut depth = 1;
            let mut end = after.len();
            for (k, ch) in after.char_indices() {
                match ch {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = k;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let handlers = &after[..end];
            for (token, m) in [("get(", Method::GET), ("post(", Method::POST)] {
                let found = handlers.match_indices(token).any(|(k, _)| {
                    k == 0 || !handlers[..k].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if found {
                    out.push((m, path.clone()));
                }
            }
        }
    }
    out.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    out.dedup();
    out
}

/// `path` with each `{param}` replaced: an application's id where the room
/// takes one (`foreign`), "0" elsewhere.
fn fill(path: &str, foreign: &str) -> String {
    let app_route = [
        "/apply/{id}",
        "/city/applications/{id}",
        "/expert/review/{id}",
    ]
    .iter()
    .any(|p| path.starts_with(p));
    let mut out = String::new();
    let mut rest = path;
    let mut first = true;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let j = rest[i..].find('}').expect("closing brace") + i;
        out.push_str(if first && app_route { foreign } else { "0" });
        first = false;
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    out
}

async fn ask(c: &mut Client, method: &Method, path: &str) -> crate::helpers::Resp {
    if *method == Method::GET {
        return c.get(path).await;
    }
    // A form post with the client's token, as a page would send it.
    if c.csrf.is_none() {
        c.get("/login").await;
    }
    let token = c
        .csrf
        .clone()
        .or_else(|| c.cookies.get("sb_csrf").cloned())
        .unwrap_or_default();
    let sep = if path.contains('?') { '&' } else { '?' };
    let req = Request::post(format!("{path}{sep}_csrf={token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("_csrf={token}")))
        .expect("request");
    c.send(req).await
}

/// An application of the demo that `who` must not see: another
/// enterprise's, another city's, one not assigned to the expert.
async fn foreign_application(app: &TestApp, who: &str) -> String {
    let sql = match who {
        "qiye1" => {
            "SELECT a.id FROM applications a JOIN users u ON u.id = a.enterprise_id \
             WHERE u.username <> $1 AND a.state <> 'draft' ORDER BY a.id"
        }
        "wuhan" => {
            "SELECT id FROM applications WHERE city_code <> '420100' AND state <> 'draft' AND $1 <> '' ORDER BY id"
        }
        _ => {
            "SELECT a.id FROM applications a WHERE a.state <> 'draft' AND NOT EXISTS ( \
             SELECT 1 FROM review_assignments r JOIN experts e ON e.id = r.expert_id \
             JOIN users u ON u.id = e.user_id WHERE r.application_id = a.id AND u.username = $1) ORDER BY a.id"
        }
    };
    app.state
        .db
        .query(sql, vec![who.into()])
        .await
        .expect("query")[0]
        .text(0)
}

#[tokio::test]
async fn every_route_admits_only_its_audience() {
    let app = spawn().await;
    app.seed_demo_stages().await;
    let routes = declared_routes();
    assert!(routes.len() > 90, "only {} routes found", routes.len());
    let unruled: Vec<&String> = routes
        .iter()
        .filter(|(_, p)| audience(p).is_none())
        .map(|(_, p)| p)
        .collect();
    assert!(
        unruled.is_empty(),
        "routes without an audience: {unruled:?}"
    );

    let principals = [
        (None, None),
        (Some("qiye1"), Some(Audience::Enterprise)),
        (Some("wuhan"), Some(Audience::City)),
        (Some("province"), Some(Audience::Province)),
        (Some("expert1"), Some(Audience::Expert)),
        (Some("sysadmin"), Some(Audience::SysAdmin)),
        (Some("secadmin"), Some(Audience::SecAdmin)),
        (Some("auditor"), Some(Audience::Auditor)),
    ];
    let mut checked = 0;
    let mut wrong: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            wrong.push(what);
        }
    };
    for (who, role) in principals {
        let foreign = match who {
            Some(w @ ("qiye1" | "wuhan" | "expert1")) => foreign_application(&app, w).await,
            _ => "0".to_string(),
        };
        for (method, pattern) in &routes {
            // Logging out or ending sessions would end this principal's run.
            if pattern.contains("logout") {
                continue;
            }
            let mut c = match who {
                Some(w) => app.login(w, DEMO_PASSWORD).await,
                None => app.client(),
            };
            let path = fill(pattern, &foreign);
            let r = ask(&mut c, method, &path).await;
            let label = format!("{} {method} {path} ({pattern})", who.unwrap_or("anonymous"));
            check(
                !r.status.is_server_error(),
                format!("{label}: {}", r.status),
            );
            let aud = audience(pattern).expect("ruled above");
            let admitted = match (aud, role) {
                (Audience::Public, _) => true,
                (Audience::AnyUser, r) => r.is_some(),
                (Audience::Officials, r) => {
                    matches!(r, Some(Audience::City | Audience::Province))
                }
                (a, Some(r)) => a == r,
                (_, None) => false,
            };
            if !admitted {
                if who.is_none() {
                    check(
                        r.status == StatusCode::SEE_OTHER && r.location().starts_with("/login"),
                        format!("{label}: {} {}, not the login page", r.status, r.location()),
                    );
                } else {
                    check(
                        r.status == StatusCode::FORBIDDEN,
                        format!("{label}: {}, not 403", r.status),
                    );
                }
            } else if path.contains(&foreign) && foreign != "0" {
                // Someone else's application: never shown, never changed.
                check(
                    matches!(
                        r.status,
                        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST
                    ),
                    format!("{label}: {} for another party's application", r.status),
                );
            }
            checked += 1;
        }
    }
    eprintln!("route matrix: {} routes, {checked} requests", routes.len());
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
