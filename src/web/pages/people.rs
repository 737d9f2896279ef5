//! Users, groups, rights and tokens, managed by `manage_users` holders:
//! every change goes through [`crate::admin::Admin`], so it is checked and
//! recorded exactly as from the command line, and the "Changes" table shows
//! who made it.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};

use super::layout::layout;
use super::{csrf_field, post_button, OrPage, PageResult, Viewer};
use crate::admin::{Admin, NewUser};
use crate::state::{Right, ToolRight};
use crate::web::{Problem, Shared};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/users", get(users).post(add_user))
        .route("/users/{name}", get(user_page))
        .route("/users/{name}/rights", post(user_rights))
        .route("/users/{name}/groups", post(user_groups))
        .route("/users/{name}/disable", post(disable))
        .route("/users/{name}/enable", post(enable))
        .route("/users/{name}/password", post(password))
        .route("/users/{name}/tokens", post(create_token))
        .route("/users/{name}/tokens/{id}/revoke", post(revoke_token))
        .route("/users/{name}/remove", get(confirm_remove).post(remove))
        .route("/groups", post(add_group))
        .route("/groups/{name}", get(group_page))
        .route("/groups/{name}/rights", post(group_rights))
        .route("/groups/{name}/remove", post(remove_group))
}

/// A submitted form as its fields in order: repeated names (one per ticked
/// checkbox) stay, which a struct cannot hold.
type Fields = Vec<(String, String)>;

/// The one value of `name`, trimmed, or empty.
fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    secret(f, name).trim()
}

/// The one value of `name` as typed (a password keeps its spaces), or empty.
fn secret<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// Every value of `name` (ticked checkboxes).
fn all(f: &Fields, name: &str) -> Vec<String> {
    f.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
}

/// `None` for an empty field.
fn given(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Checks the right and the CSRF token of a change, and who is making it.
fn admin_for<'a>(v: &Viewer, app: &'a crate::app::App, f: &Fields) -> Result<Admin<'a>, super::Instead> {
    v.caller.need(ToolRight::ManageUsers).or_page(v)?;
    v.caller.check_csrf(Some(field(f, "csrf"))).or_page(v)?;
    Ok(Admin::new(app, v.caller.started_by()))
}

/// Checkboxes for `choices`, ticked where `held`; `fixed` are shown ticked
/// and disabled (rights that come from a group).
fn checkboxes(name: &str, choices: &[String], held: &BTreeSet<String>, fixed: &BTreeSet<String>) -> Markup {
    html! {
        div .choices {
            @for c in choices {
                label .choice {
                    @if fixed.contains(c) && !held.contains(c) {
                        input type="checkbox" disabled checked title="from a group";
                        (c) " " span .hint { "(group)" }
                    } @else {
                        input type="checkbox" name=(name) value=(c) id={(name) "-" (c)} checked[held.contains(c)];
                        (c)
                    }
                }
            }
        }
    }
}

async fn users(State(c): State<Shared>, v: Viewer) -> PageResult {
    v.caller.need(ToolRight::ManageUsers).or_page(&v)?;
    let app = c.app();
    let mut rows = Vec::new();
    for u in app.store.users().await.or_page(&v)? {
        let rights = app.store.tool_rights(&u.name).await.or_page(&v)?;
        let login = app.store.can_log_in(&u.name).await.or_page(&v)?;
        rows.push((u, rights, login));
    }
    let mut groups = Vec::new();
    for g in app.store.groups().await.or_page(&v)? {
        let rights = app.store.group_rights(&g.name).await.or_page(&v)?;
        groups.push((g, rights));
    }
    let changes = app.store.people_changes(50).await.or_page(&v)?;
    let known = app.known_rights();
    let none = BTreeSet::new();
    let group_names: Vec<String> = groups.iter().map(|(g, _)| g.name.clone()).collect();
    let body = html! {
        h1 { "Users" }
        table #users {
            tr { th { "User" } th { "Name" } th { "Email" } th { "Groups" } th { "Rights" } th { "Sign-in" } }
            @for (u, rights, login) in &rows {
                tr {
                    td { a href={"/users/" (u.name)} { (u.name) } }
                    td { (u.display_name.clone().unwrap_or_default()) }
                    td { (u.email.clone().unwrap_or_default()) }
                    td { (u.groups.join(", ")) }
                    td { (Right::words(rights).join(", ")) }
                    td { @if u.disabled { span .status.failed { "disabled" } } @else if *login { "password" } @else { "none (notified only)" } }
                }
            }
        }
        details #add-user-form open[rows.is_empty()] {
            summary { "Add a user" }
            form .grid method="post" action="/users" {
                (csrf_field(&v))
                label { "User name " input #new-name type="text" name="name" required pattern="[A-Za-z0-9._@-]{1,64}"; }
                label { "Name for people " input #new-display type="text" name="display_name"; }
                label { "Email " input #new-email type="email" name="email"; }
                label { "Password (empty: notified only, cannot sign in) " input #new-password type="password" name="password" autocomplete="new-password"; }
                fieldset { legend { "Rights" } (checkboxes("right", &known, &none, &none)) }
                @if !group_names.is_empty() { fieldset { legend { "Groups" } (checkboxes("group", &group_names, &none, &none)) } }
                button #add-user type="submit" { "Add user" }
            }
        }
        h2 { "Groups" }
        table #groups {
            tr { th { "Group" } th { "Members" } th { "Email" } th { "Rights" } }
            @for (g, rights) in &groups {
                tr {
                    td { a href={"/groups/" (g.name)} { (g.name) } }
                    td { (g.members.join(", ")) }
                    td { (g.email.clone().unwrap_or_default()) }
                    td { (rights.join(", ")) }
                }
            }
        }
        form .search method="post" action="/groups" {
            (csrf_field(&v))
            label { "New group " input #new-group type="text" name="name" required; }
            label { "Email " input type="email" name="email"; }
            button #add-group type="submit" { "Add group" }
        }
        h2 { "Changes" }
        (changes_table(&v, &changes))
    };
    Ok(layout("Users", Some(&v), body).into_response())
}

fn changes_table(v: &Viewer, changes: &[crate::state::PeopleChange]) -> Markup {
    html! {
        table #changes {
            tr { th { "When" } th { "By" } th { "Change" } th { "User or group" } th { "Detail" } }
            @for ch in changes {
                tr {
                    td { (v.when(ch.at)) }
                    td { (ch.by.to_string()) }
                    td { (ch.action.word()) }
                    td { (ch.subject) }
                    td { (ch.detail.clone().unwrap_or_default()) }
                }
            }
        }
        @if changes.is_empty() { p { "No changes recorded yet." } }
    }
}

async fn add_user(State(c): State<Shared>, v: Viewer, Form(f): Form<Fields>) -> PageResult {
    let app = c.app();
    let admin = admin_for(&v, &app, &f)?;
    let user = NewUser {
        name: field(&f, "name").to_string(),
        display_name: given(field(&f, "display_name")),
        email: given(field(&f, "email")),
        groups: all(&f, "group"),
        rights: all(&f, "right"),
        password: given(secret(&f, "password")),
    };
    admin.add_user(&user).await.or_page(&v)?;
    Ok(Redirect::to(&format!("/users/{}", user.name)).into_response())
}

async fn user_page(State(c): State<Shared>, v: Viewer, Path(name): Path<String>) -> PageResult {
    v.caller.need(ToolRight::ManageUsers).or_page(&v)?;
    let app = c.app();
    let user = app
        .store
        .user(&name)
        .await
        .or_page(&v)?
        .ok_or_else(|| Problem::missing(format!("there is no user '{name}'; the Users page lists them")))
        .or_page(&v)?;
    let direct: BTreeSet<String> = app.store.direct_rights(&name).await.or_page(&v)?.into_iter().collect();
    let all_rights: BTreeSet<String> = Right::words(&app.store.tool_rights(&name).await.or_page(&v)?)
        .into_iter()
        .collect();
    let login = app.store.can_log_in(&name).await.or_page(&v)?;
    let tokens = app.store.tokens(Some(&name)).await.or_page(&v)?;
    let groups: Vec<String> = app
        .store
        .groups()
        .await
        .or_page(&v)?
        .into_iter()
        .map(|g| g.name)
        .collect();
    let member: BTreeSet<String> = user.groups.iter().cloned().collect();
    let none = BTreeSet::new();
    let known = app.known_rights();
    let base = format!("/users/{name}");
    let body = html! {
        h1 { "User " (name) }
        table .facts {
            tr { th { "Name" } td { (user.display_name.clone().unwrap_or_default()) } }
            tr { th { "Email" } td { (user.email.clone().unwrap_or_default()) } }
            tr { th { "Sign-in" } td #user-state {
                @if user.disabled { "disabled" } @else if login { "active" } @else { "no password (notified only)" }
            } }
            tr { th { "All rights" } td #all-rights { (all_rights.iter().cloned().collect::<Vec<_>>().join(", ")) } }
        }
        div .actions {
            @if user.disabled {
                (post_button(&v, &format!("{base}/enable"), "enable", "Enable"))
            } @else {
                (post_button(&v, &format!("{base}/disable"), "disable", "Disable"))
            }
            a .button #remove-user href={(base) "/remove"} { "Remove…" }
        }
        h2 { "Rights" }
        form method="post" action={(base) "/rights"} {
            (csrf_field(&v))
            (checkboxes("right", &known, &direct, &all_rights))
            button #save-rights type="submit" { "Save rights" }
        }
        h2 { "Groups" }
        form method="post" action={(base) "/groups"} {
            (csrf_field(&v))
            (checkboxes("group", &groups, &member, &none))
            button #save-groups type="submit" { "Save groups" }
        }
        h2 { "Password" }
        form .search method="post" action={(base) "/password"} {
            (csrf_field(&v))
            label { "New password (at least 8 characters) " input #reset-password type="password" name="password" autocomplete="new-password" required minlength="8"; }
            button #set-password type="submit" { "Set password" }
        }
        p .hint { "Setting a password ends the user's open sessions." }
        h2 { "API tokens" }
        table #tokens {
            tr { th { "Id" } th { "Label" } th { "Created" } th { "Last used" } th {} }
            @for t in &tokens {
                tr {
                    td .num { (t.id) }
                    td { (t.label) }
                    td { (v.when(t.created_at)) }
                    td { (t.last_used_at.map(|at| v.when(at)).unwrap_or_else(|| "never".into())) }
                    td { (post_button(&v, &format!("{base}/tokens/{}/revoke", t.id), &format!("revoke-{}", t.id), "Revoke")) }
                }
            }
        }
        form .search method="post" action={(base) "/tokens"} {
            (csrf_field(&v))
            label { "Label " input #token-label type="text" name="label" required placeholder="nightly export job"; }
            button #create-token type="submit" { "Create token" }
        }
    };
    Ok(layout(&format!("User {name}"), Some(&v), body).into_response())
}

async fn user_rights(
    State(c): State<Shared>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<Fields>,
) -> PageResult {
    let app = c.app();
    admin_for(&v, &app, &f)?
        .set_rights(&name, &all(&f, "right"))
        .await
        .or_page(&v)?;
    Ok(Redirect::to(&format!("/users/{name}")).into_response())
}

async fn user_groups(
    State(c): State<Shared>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<Fields>,
) -> PageResult {
    let app = c.app();
    admin_for(&v, &app, &f)?
        .set_groups(&name, &all(&f, "group"))
        .await
        .or_page(&v)?;
    Ok(Redirect::to(&format!("/users/{name}")).into_response())
}

async fn disable(c: State<Shared>, v: Viewer, name: Path<String>, f: Form<Fields>) -> PageResult {
    switch(c, v, name, f, true).await
}

async fn enable(c: State<Shared>, v: Viewer, name: Path<String>, f: Form<Fields>) -> PageResult {
    switch(c, v, name, f, false).await
}

/// Turns a user off or back on, then shows their page.
async fn switch(
    State(c): State<Shared>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<Fields>,
    disabled: bool,
) -> PageResult {
    let app = c.app();
    admin_for(&v, &app, &f)?
        .set_disabled(&name, disabled)
        .await
        .or_page(&v)?;
    Ok(Redirect::to(&format!("/users/{name}")).into_response())
}

async fn password(State(c): State<Shared>, v: Viewer, Path(name): Path<String>, Form(f): Form<Fields>) -> PageResult {
    let app = c.app();
    admin_for(&v, &app, &f)?
        .set_password(&name, secret(&f, "password"))
        .await
        .or_page(&v)?;
    let body = html! {
        h1 { "Password set" }
        p #done .ok { "The password of " (name) " is set; their open sessions have ended. Tell them through a channel other than email." }
        p { a href={"/users/" (name)} { "Back to " (name) } }
    };
    Ok(layout("Password set", Some(&v), body).into_response())
}

async fn create_token(
    State(c): State<Shared>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<Fields>,
) -> PageResult {
    let app = c.app();
    let (id, token) = admin_for(&v, &app, &f)?
        .create_token(&name, field(&f, "label"))
        .await
        .or_page(&v)?;
    let body = html! {
        h1 { "Token " (id) " for " (name) }
        p { "Copy it now: ferry keeps only its hash and cannot show it again. Send it as " code { "Authorization: Bearer TOKEN" } "." }
        pre .code #token { (token) }
        p { a href={"/users/" (name)} { "Back to " (name) } }
    };
    Ok(layout("Token created", Some(&v), body).into_response())
}

async fn revoke_token(
    State(c): State<Shared>,
    v: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<Fields>,
) -> PageResult {
    let app = c.app();
    if !admin_for(&v, &app, &f)?
        .revoke_token(id, Some(&name))
        .await
        .or_page(&v)?
    {
        return Err(Problem::missing(format!("{name} has no API token {id}"))).or_page(&v);
    }
    Ok(Redirect::to(&format!("/users/{name}")).into_response())
}

async fn confirm_remove(v: Viewer, Path(name): Path<String>) -> PageResult {
    v.caller.need(ToolRight::ManageUsers).or_page(&v)?;
    let body = html! {
        h1 { "Remove user " (name) "?" }
        p { "Their rights, group memberships, console sessions and API tokens go with them; their past notifications and the runs they started stay in history. To keep them for later, disable them instead." }
        div .actions {
            (post_button(&v, &format!("/users/{name}/remove"), "confirm-remove", "Remove user"))
            a .button href={"/users/" (name)} { "Cancel" }
        }
    };
    Ok(layout("Remove user", Some(&v), body).into_response())
}

async fn remove(State(c): State<Shared>, v: Viewer, Path(name): Path<String>, Form(f): Form<Fields>) -> PageResult {
    let app = c.app();
    admin_for(&v, &app, &f)?.remove_user(&name).await.or_page(&v)?;
    Ok(Redirect::to("/users").into_response())
}

async fn add_group(State(c): State<Shared>, v: Viewer, Form(f): Form<Fields>) -> PageResult {
    let app = c.app();
    let name = field(&f, "name").to_string();
    let email = given(field(&f, "email"));
    admin_for(&v, &app, &f)?
        .add_group(&name, email.as_deref(), None)
        .await
        .or_page(&v)?;
    Ok(Redirect::to(&format!("/groups/{name}")).into_response())
}

async fn group_page(State(c): State<Shared>, v: Viewer, Path(name): Path<String>) -> PageResult {
    v.caller.need(ToolRight::ManageUsers).or_page(&v)?;
    let app = c.app();
    let group = app
        .store
        .group(&name)
        .await
        .or_page(&v)?
        .ok_or_else(|| Problem::missing(format!("there is no group '{name}'; the Users page lists them")))
        .or_page(&v)?;
    let held: BTreeSet<String> = app.store.group_rights(&name).await.or_page(&v)?.into_iter().collect();
    let none = BTreeSet::new();
    let base = format!("/groups/{name}");
    let body = html! {
        h1 { "Group " (name) }
        table .facts {
            tr { th { "Members" } td #members { (group.members.join(", ")) } }
            tr { th { "Email" } td { (group.email.clone().unwrap_or_default()) } }
        }
        p .hint { "Members are added on each user's page. A right given here is held by every member, present and future." }
        h2 { "Rights" }
        form method="post" action={(base) "/rights"} {
            (csrf_field(&v))
            (checkboxes("right", &app.known_rights(), &held, &none))
            button #save-group-rights type="submit" { "Save rights" }
        }
        div .actions { (post_button(&v, &format!("{base}/remove"), "remove-group", "Remove group")) }
    };
    Ok(layout(&format!("Group {name}"), Some(&v), body).into_response())
}

async fn group_rights(
    State(c): State<Shared>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<Fields>,
) -> PageResult {
    let app = c.app();
    admin_for(&v, &app, &f)?
        .set_group_rights(&name, &all(&f, "right"))
        .await
        .or_page(&v)?;
    Ok(Redirect::to(&format!("/groups/{name}")).into_response())
}

async fn remove_group(
    State(c): State<Shared>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<Fields>,
) -> PageResult {
    let app = c.app();
    admin_for(&v, &app, &f)?.remove_group(&name).await.or_page(&v)?;
    Ok(Redirect::to("/users").into_response())
}
