//! `/admin` (people, roles, API tokens, embedding, approval rules, the audit
//! log) and `/account` (my sessions, my password). Forms post to server
//! functions, so they work without JavaScript; the server checks the role
//! on every call.

use railyard_views::admin as model;

pub use model::{
    AccountCommand, AccountView, AdminCommand, AdminEmbedLink, AdminToken, AdminUser, AdminView, AuditLine, SessionLine,
};

use leptos::prelude::*;

use crate::error_text;
use crate::wide_table::WideTable;
use leptos::server_fn::ServerFn;

/// Runs an admin command for the caller.
#[cfg(feature = "ssr")]
async fn run(command: AdminCommand) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.admin_command(&caller, command).await.map_err(crate::backend::BackendError::into_server_error)
}

/// Runs an account command for the caller.
#[cfg(feature = "ssr")]
async fn run_account(command: AccountCommand) -> Result<String, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.account_command(&caller, command).await.map_err(crate::backend::BackendError::into_server_error)
}

/// The admin page's data.
#[server(prefix = "/rpc", endpoint = "admin")]
pub async fn load_admin() -> Result<AdminView, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.admin_view(&caller).await.map_err(crate::backend::BackendError::into_server_error)
}

/// Creates a user with an initial password they must change.
#[server(prefix = "/rpc", endpoint = "create_user")]
pub async fn create_user(name: String, password: String, roles: String) -> Result<String, ServerFnError> {
    run(AdminCommand::CreateUser { name, password, roles }).await
}

/// Replaces a user's roles ("viewer, release_manager@payments").
#[server(prefix = "/rpc", endpoint = "set_user_roles")]
pub async fn set_user_roles(name: String, roles: String) -> Result<String, ServerFnError> {
    run(AdminCommand::SetRoles { name, roles }).await
}

/// Replaces the names a user authors builds under ("ada@example.com, ada-l").
#[server(prefix = "/rpc", endpoint = "set_user_identities")]
pub async fn set_user_identities(name: String, identities: String) -> Result<String, ServerFnError> {
    run(AdminCommand::SetIdentities { name, identities }).await
}

/// Disables (ending their sessions) or re-enables a user.
#[server(prefix = "/rpc", endpoint = "set_user_disabled")]
pub async fn set_user_disabled(name: String, disabled: bool) -> Result<String, ServerFnError> {
    run(AdminCommand::SetDisabled { name, disabled }).await
}

/// Signs a user out everywhere at once.
#[server(prefix = "/rpc", endpoint = "end_user_sessions")]
pub async fn end_user_sessions(name: String) -> Result<String, ServerFnError> {
    run(AdminCommand::EndSessions { name }).await
}

/// Password sign-in for everyone, or only for admins set by hand.
#[server(prefix = "/rpc", endpoint = "set_local_sign_in")]
pub async fn set_local_sign_in(allowed: bool) -> Result<String, ServerFnError> {
    run(AdminCommand::SetLocalSignIn { allowed }).await
}

/// Creates an API token; the answer carries its secret, shown this once.
#[server(prefix = "/rpc", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    scopes: String,
    domains: String,
    expires_in: String,
) -> Result<String, ServerFnError> {
    run(AdminCommand::CreateToken { name, scopes, domains, expires_in }).await
}

/// Revokes an API token.
#[server(prefix = "/rpc", endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<String, ServerFnError> {
    run(AdminCommand::RevokeToken { id }).await
}

/// Allows a wiki origin to frame embedded panels.
#[server(prefix = "/rpc", endpoint = "allow_embed_origin")]
pub async fn allow_embed_origin(origin: String) -> Result<String, ServerFnError> {
    run(AdminCommand::AllowOrigin { origin }).await
}

/// Stops a wiki origin framing panels.
#[server(prefix = "/rpc", endpoint = "remove_embed_origin")]
pub async fn remove_embed_origin(origin: String) -> Result<String, ServerFnError> {
    run(AdminCommand::RemoveOrigin { origin }).await
}

/// Creates a signed link to the calendar panel for one wiki.
#[server(prefix = "/rpc", endpoint = "create_embed_link")]
pub async fn create_embed_link(audience: String, expires_in: String) -> Result<String, ServerFnError> {
    run(AdminCommand::CreateEmbedLink { audience, expires_in }).await
}

/// Revokes one embed link at once.
#[server(prefix = "/rpc", endpoint = "revoke_embed_link")]
pub async fn revoke_embed_link(id: String) -> Result<String, ServerFnError> {
    run(AdminCommand::RevokeEmbedLink { id }).await
}

/// Sets how many approvals a domain's candidates need.
#[server(prefix = "/rpc", endpoint = "set_approval_rule")]
pub async fn set_approval_rule(domain: String, required: i64) -> Result<String, ServerFnError> {
    run(AdminCommand::SetApprovalRule { domain, required }).await
}

/// Recomputes the audit log's hash chain.
#[server(prefix = "/rpc", endpoint = "verify_audit")]
pub async fn verify_audit() -> Result<String, ServerFnError> {
    run(AdminCommand::VerifyAudit).await
}

/// The account page's data.
#[server(prefix = "/rpc", endpoint = "account")]
pub async fn load_account() -> Result<AccountView, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    backend.account_view(&caller).await.map_err(crate::backend::BackendError::into_server_error)
}

/// Ends one of my sessions.
#[server(prefix = "/rpc", endpoint = "end_session")]
pub async fn end_session(id: String) -> Result<String, ServerFnError> {
    run_account(AccountCommand::EndSession { id }).await
}

/// Changes my password (my other sessions end).
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(current: String, new: String) -> Result<String, ServerFnError> {
    run_account(AccountCommand::ChangePassword { current, new }).await
}

/// The answer of an action, as a notice.
#[component]
fn Outcome<S>(action: ServerAction<S>) -> impl IntoView
where
    S: ServerFn<Output = String, Error = ServerFnError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    move || {
        action.value().get().map(|result| match result {
            Ok(text) => view! { <p class="notice info" role="status">{text}</p> }.into_any(),
            Err(error) => view! { <p class="notice error" role="alert">{error_text(&error)}</p> }.into_any(),
        })
    }
}

/// `/admin`.
#[component]
pub fn AdminPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let roles = ServerAction::<SetUserRoles>::new();
    let identities = ServerAction::<SetUserIdentities>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let sign_out = ServerAction::<EndUserSessions>::new();
    let local = ServerAction::<SetLocalSignIn>::new();
    let token = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let allow = ServerAction::<AllowEmbedOrigin>::new();
    let remove = ServerAction::<RemoveEmbedOrigin>::new();
    let link = ServerAction::<CreateEmbedLink>::new();
    let unlink = ServerAction::<RevokeEmbedLink>::new();
    let rule = ServerAction::<SetApprovalRule>::new();
    let verify = ServerAction::<VerifyAudit>::new();
    let versions = move || {
        (
            create.version().get(),
            roles.version().get(),
            identities.version().get(),
            disable.version().get(),
            (sign_out.version().get(), local.version().get()),
            token.version().get(),
            revoke.version().get(),
            allow.version().get(),
            remove.version().get(),
            rule.version().get(),
            link.version().get(),
            unlink.version().get(),
        )
    };
    let admin = Resource::new(versions, |_| load_admin());
    let loaded = move || admin.get().and_then(Result::ok);
    view! {
        <section class="admin" aria-labelledby="admin-title">
            <h1 id="admin-title">"Administration"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    admin
                        .get()
                        .and_then(Result::err)
                        .map(|error| view! { <p class="notice error" role="alert">{error_text(&error)}</p> })
                }}
                <Show when=move || loaded().is_some()>
                    <section aria-labelledby="users-title">
                        <h2 id="users-title">"People and roles"</h2>
                        <p class="hint">
                            "Roles: viewer, release_manager, approver, admin; limit one to a domain with @, e.g. release_manager@payments."
                        </p>
                        <p class="hint">
                            "Author identities: the e-mail addresses and VCS logins a person's builds carry as their author; nobody approves a build whose author is one of theirs."
                        </p>
                        <Outcome action=roles/>
                        <Outcome action=identities/>
                        <Outcome action=disable/>
                        <Outcome action=sign_out/>
                        <WideTable label="Users">
                            <table class="admin-table users">
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Roles set here"</th>
                                        <th scope="col">"Roles from sign-in"</th>
                                        <th scope="col">"Author identities"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">"Change"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For each=move || loaded().map(|v| v.users).unwrap_or_default() key=|u| u.clone() let:user>
                                        <UserRow user roles identities disable sign_out/>
                                    </For>
                                </tbody>
                            </table>
                        </WideTable>
                        <details class="confirm">
                            <summary class="action">"Add a person…"</summary>
                            <ActionForm action=create>
                                <label>"Name" <input type="text" name="name" required/></label>
                                <label>"Initial password" <input type="password" name="password" required minlength="12"/></label>
                                <label>"Roles" <input type="text" name="roles" placeholder="viewer"/></label>
                                <button type="submit" class="action">"Add"</button>
                            </ActionForm>
                        </details>
                        <Outcome action=create/>
                    </section>
                    <SignInPolicy admin=Signal::derive(loaded) local/>
                    <section aria-labelledby="tokens-title">
                        <h2 id="tokens-title">"API tokens for CI"</h2>
                        <Outcome action=token/>
                        <Outcome action=revoke/>
                        <WideTable label="API tokens">
                            <table class="admin-table tokens">
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Scopes"</th>
                                        <th scope="col">"Domains"</th>
                                        <th scope="col">"Expires"</th>
                                        <th scope="col">"Last used"</th>
                                        <th scope="col"></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For each=move || loaded().map(|v| v.tokens).unwrap_or_default() key=|t| t.clone() let:token>
                                        <tr class:revoked=token.revoked>
                                            <th scope="row">{token.name.clone()}</th>
                                            <td>{token.scopes.join(" ")}</td>
                                            <td>{if token.domains.is_empty() { "all".to_owned() } else { token.domains.join(" ") }}</td>
                                            <td>{token.expires_at.clone().unwrap_or_else(|| "never".into())}</td>
                                            <td>{token.last_used_at.clone().unwrap_or_else(|| "never".into())}</td>
                                            <td>
                                                {if token.revoked {
                                                    view! { <span>"revoked"</span> }.into_any()
                                                } else {
                                                    view! {
                                                        <ActionForm action=revoke attr:class="inline-action">
                                                            <input type="hidden" name="id" value=token.id.clone()/>
                                                            <button type="submit" class="action">"Revoke"</button>
                                                        </ActionForm>
                                                    }
                                                        .into_any()
                                                }}
                                            </td>
                                        </tr>
                                    </For>
                                </tbody>
                            </table>
                        </WideTable>
                        <details class="confirm">
                            <summary class="action">"Create a token…"</summary>
                            <ActionForm action=token>
                                <label>"Name" <input type="text" name="name" required placeholder="ci-payments"/></label>
                                <label>
                                    "Scopes" <input type="text" name="scopes" required value="artifacts:write checks:write"/>
                                </label>
                                <label>"Domains (empty: all)" <input type="text" name="domains"/></label>
                                <label>"Expires in" <input type="text" name="expires_in" value="90d"/></label>
                                <button type="submit" class="action">"Create"</button>
                            </ActionForm>
                        </details>
                    </section>
                    <section aria-labelledby="embed-title">
                        <h2 id="embed-title">"Embedding in wikis"</h2>
                        <p class="hint">"Only these origins may frame /embed/ panels."</p>
                        <Outcome action=allow/>
                        <Outcome action=remove/>
                        <Outcome action=link/>
                        <ul class="origins">
                            <For each=move || loaded().map(|v| v.origins).unwrap_or_default() key=|o| o.clone() let:origin>
                                <OriginRow origin remove link/>
                            </For>
                        </ul>
                        <ActionForm action=allow attr:class="inline-action">
                            <input type="url" name="origin" placeholder="https://wiki.example.com" required aria-label="Origin"/>
                            <button type="submit" class="action">"Allow origin"</button>
                        </ActionForm>
                        <h3>"Links handed out"</h3>
                        <Outcome action=unlink/>
                        <WideTable label="Embed links">
                            <table class="admin-table embed-links">
                                <thead>
                                    <tr>
                                        <th scope="col">"Panel"</th>
                                        <th scope="col">"For"</th>
                                        <th scope="col">"Created by"</th>
                                        <th scope="col">"Expires"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col"></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For each=move || loaded().map(|v| v.embed_links).unwrap_or_default() key=|l| l.clone() let:embed>
                                        <tr>
                                            <td>{embed.panel.clone()}</td>
                                            <td>{embed.audience.clone()}</td>
                                            <td>{embed.created_by.clone()}</td>
                                            <td>{embed.expires_at.clone()}</td>
                                            <td class="status">{embed.status.clone()}</td>
                                            <td>
                                                {(embed.status == "active").then(|| view! {
                                                    <ActionForm action=unlink attr:class="inline-action">
                                                        <input type="hidden" name="id" value=embed.id.clone()/>
                                                        <button type="submit" class="action danger">"Revoke"</button>
                                                    </ActionForm>
                                                })}
                                            </td>
                                        </tr>
                                    </For>
                                </tbody>
                            </table>
                        </WideTable>
                    </section>
                    <section aria-labelledby="rules-title">
                        <h2 id="rules-title">"Approval rules"</h2>
                        <Outcome action=rule/>
                        <ul class="rules">
                            <For each=move || loaded().map(|v| v.rules).unwrap_or_default() key=|r| r.clone() let:rule_row>
                                <li>
                                    <ActionForm action=rule attr:class="inline-action">
                                        <strong>{rule_row.0.clone()}</strong>
                                        <input type="hidden" name="domain" value=rule_row.0.clone()/>
                                        <input
                                            type="number"
                                            name="required"
                                            min="1"
                                            max="10"
                                            value=rule_row.1
                                            aria-label=format!("Approvals needed in {}", rule_row.0)
                                        />
                                        " approvals needed "
                                        <button type="submit" class="action">"Save"</button>
                                    </ActionForm>
                                </li>
                            </For>
                        </ul>
                    </section>
                    <section aria-labelledby="audit-title">
                        <h2 id="audit-title">"Audit log"</h2>
                        <p>
                            {move || {
                                loaded()
                                    .map(|v| format!("{} records; head {}", v.audit_count, v.audit_head))
                                    .unwrap_or_default()
                            }}
                        </p>
                        <ActionForm action=verify attr:class="inline-action">
                            <button type="submit" class="action">"Verify the chain"</button>
                        </ActionForm>
                        <Outcome action=verify/>
                        <WideTable label="Audit log">
                            <table class="admin-table audit">
                                <thead>
                                    <tr>
                                        <th scope="col">"#"</th>
                                        <th scope="col">"When (UTC)"</th>
                                        <th scope="col">"Who"</th>
                                        <th scope="col">"What"</th>
                                        <th scope="col">"On"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For each=move || loaded().map(|v| v.audit).unwrap_or_default() key=|l| l.clone() let:line>
                                        <tr>
                                            <td>{line.seq}</td>
                                            <td>{line.at}</td>
                                            <td>{line.actor}</td>
                                            <td>{line.action}</td>
                                            <td>{line.object}</td>
                                        </tr>
                                    </For>
                                </tbody>
                            </table>
                        </WideTable>
                    </section>
                </Show>
            </Transition>
        </section>
    }
}

#[component]
fn UserRow(
    user: AdminUser,
    roles: ServerAction<SetUserRoles>,
    identities: ServerAction<SetUserIdentities>,
    disable: ServerAction<SetUserDisabled>,
    sign_out: ServerAction<EndUserSessions>,
) -> AnyView {
    let (row_name, roles_name, disable_name) = (user.name.clone(), user.name.clone(), user.name.clone());
    let sign_out_name = user.name.clone();
    let from_sign_in = user.sso_roles.join(", ");
    let sso = user.sso.clone();
    let (identities_name, known) = (user.name.clone(), user.identities.join(", "));
    let status = if user.disabled {
        "disabled"
    } else if user.must_change_password {
        "must change password"
    } else {
        "active"
    };
    let held = user.roles.join(", ");
    view! {
        <tr data-user=row_name>
            <th scope="row">
                {user.name.clone()}
                {sso.into_iter().map(|who| view! { <span class="sso-identity">{who}</span> }).collect_view()}
            </th>
            <td class="roles">{held.clone()}</td>
            <td class="sso-roles">{from_sign_in}</td>
            <td class="identities">{known.clone()}</td>
            <td>{status}</td>
            <td class="actions">
                <ActionForm action=roles attr:class="inline-action">
                    <input type="hidden" name="name" value=roles_name/>
                    <input type="text" name="roles" value=held aria-label="Roles"/>
                    <button type="submit" class="action">"Set roles"</button>
                </ActionForm>
                <ActionForm action=identities attr:class="inline-action">
                    <input type="hidden" name="name" value=identities_name/>
                    <input type="text" name="identities" value=known aria-label="Author identities"/>
                    <button type="submit" class="action">"Set identities"</button>
                </ActionForm>
                <ActionForm action=disable attr:class="inline-action">
                    <input type="hidden" name="name" value=disable_name/>
                    <input type="hidden" name="disabled" value=(!user.disabled).to_string()/>
                    <button type="submit" class="action">{if user.disabled { "Enable" } else { "Disable" }}</button>
                </ActionForm>
                <ActionForm action=sign_out attr:class="inline-action">
                    <input type="hidden" name="name" value=sign_out_name/>
                    <button type="submit" class="action">"Sign out everywhere"</button>
                </ActionForm>
            </td>
        </tr>
    }
    .into_any()
}

/// How people sign in: single sign-on, and whether passwords are still for everyone.
#[component]
fn SignInPolicy(admin: Signal<Option<AdminView>>, local: ServerAction<SetLocalSignIn>) -> AnyView {
    let allowed = move || admin.get().is_some_and(|v| v.local_sign_in);
    let provider = move || admin.get().and_then(|v| v.single_sign_on);
    view! {
        <section aria-labelledby="sign-in-title">
            <h2 id="sign-in-title">"Sign-in"</h2>
            <p class="hint">
                {move || match provider() {
                    Some(name) => format!("Single sign-on with {name} is set up. Roles from sign-in follow [[role_mapping]] in trains as code and are recomputed at every sign-in."),
                    None => "Single sign-on is not set up (RAILYARD_OIDC_ISSUER); people sign in with passwords.".to_owned(),
                }}
            </p>
            <p class="local-sign-in">
                {move || if allowed() {
                    "Everyone may sign in with a password."
                } else {
                    "Only admins set by hand (the first admin, break-glass accounts) may sign in with a password."
                }}
            </p>
            <ActionForm action=local attr:class="inline-action">
                <input type="hidden" name="allowed" value=move || (!allowed()).to_string()/>
                <button type="submit" class="action">
                    {move || if allowed() { "Turn password sign-in off" } else { "Let everyone sign in with a password" }}
                </button>
            </ActionForm>
            <Outcome action=local/>
        </section>
    }
    // Its own type: the admin page's view is too deep for a debug build's stack otherwise.
    .into_any()
}

#[component]
fn OriginRow(
    origin: String,
    remove: ServerAction<RemoveEmbedOrigin>,
    link: ServerAction<CreateEmbedLink>,
) -> impl IntoView {
    let (shown, removed, linked) = (origin.clone(), origin.clone(), origin);
    view! {
        <li>
            <code>{shown}</code>
            <ActionForm action=remove attr:class="inline-action">
                <input type="hidden" name="origin" value=removed/>
                <button type="submit" class="action">"Remove"</button>
            </ActionForm>
            <ActionForm action=link attr:class="inline-action">
                <input type="hidden" name="audience" value=linked/>
                <input type="hidden" name="expires_in" value="90d"/>
                <button type="submit" class="action">"Link to the calendar (90 days)"</button>
            </ActionForm>
        </li>
    }
}

/// `/account`.
#[component]
pub fn AccountPage() -> impl IntoView {
    let end = ServerAction::<EndSession>::new();
    let change = ServerAction::<ChangePassword>::new();
    let account = Resource::new(move || (end.version().get(), change.version().get()), |_| load_account());
    let loaded = move || account.get().and_then(Result::ok);
    view! {
        <section class="account" aria-labelledby="account-title">
            <h1 id="account-title">"Your account"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    account
                        .get()
                        .and_then(Result::err)
                        .map(|error| view! { <p class="notice error" role="alert">{error_text(&error)}</p> })
                }}
                <Show when=move || loaded().is_some_and(|v| v.must_change_password)>
                    <p class="notice error" role="alert">"Choose your own password before you go on."</p>
                </Show>
                <h2>"Change password"</h2>
                <Outcome action=change/>
                <ActionForm action=change attr:class="password-form">
                    <label>
                        "Current password" <input type="password" name="current" autocomplete="current-password" required/>
                    </label>
                    <label>
                        "New password (12 characters or more)"
                        <input type="password" name="new" autocomplete="new-password" required minlength="12"/>
                    </label>
                    <button type="submit" class="action">"Change password"</button>
                </ActionForm>
                <h2>"Where you are signed in"</h2>
                <Outcome action=end/>
                <WideTable label="Sessions">
                    <table class="admin-table sessions">
                        <thead>
                            <tr>
                                <th scope="col">"Signed in (UTC)"</th>
                                <th scope="col">"Last used"</th>
                                <th scope="col">"From"</th>
                                <th scope="col">"Browser"</th>
                                <th scope="col"></th>
                            </tr>
                        </thead>
                        <tbody>
                            <For each=move || loaded().map(|v| v.sessions).unwrap_or_default() key=|s| s.clone() let:session>
                                <tr class:current=session.current>
                                    <td>{session.created_at.clone()}</td>
                                    <td>{session.last_seen_at.clone()}</td>
                                    <td>{session.ip.clone()}</td>
                                    <td class="agent">{session.user_agent.clone()}</td>
                                    <td>
                                        {if session.current {
                                            view! { <span>"this browser"</span> }.into_any()
                                        } else {
                                            view! {
                                                <ActionForm action=end attr:class="inline-action">
                                                    <input type="hidden" name="id" value=session.id.clone()/>
                                                    <button type="submit" class="action">"Sign out there"</button>
                                                </ActionForm>
                                            }
                                                .into_any()
                                        }}
                                    </td>
                                </tr>
                            </For>
                        </tbody>
                    </table>
                </WideTable>
            </Transition>
        </section>
    }
}
