//! The server verbs: serve, user, case, audit verify, retention apply, erase. Each is a thin
//! call into `spirit-server` or `spirit-store`, and each change is written to the audit log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;
use spirit_store::access::{self, Role};
use spirit_store::audit::{self, Entry};
use spirit_store::workspace::Access;
use spirit_store::{Workspace, anchor, retention, scope};

#[derive(Subcommand)]
pub enum ServerCommand {
    /// Serve the workspace over HTTP: the REST API and its OpenAPI document.
    Serve {
        workspace: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Largest request body accepted, in MiB.
        #[arg(long, default_value_t = 32)]
        max_body_mib: usize,
        /// Send the session cookie without `Secure` (plain HTTP on loopback only).
        #[arg(long)]
        insecure_cookie: bool,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key. Responses
        /// then carry HSTS.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Apply the sources' retention periods at start and then every this many minutes
        /// (0: never; then schedule `spirit retention apply` yourself).
        #[arg(long, default_value_t = 60)]
        retention_every_minutes: u64,
        /// Anchor the audit log (a signed checkpoint, as `spirit audit anchor`) at start
        /// and then every this many minutes, to --anchor-out or --anchor-syslog (0: never).
        #[arg(long, default_value_t = 0)]
        anchor_every_minutes: u64,
        /// Append the scheduled anchors to this file (keep it, or ship it, off the server).
        #[arg(long, conflicts_with = "anchor_syslog")]
        anchor_out: Option<PathBuf>,
        /// Send the scheduled anchors to the system log (facility auth).
        #[arg(long)]
        anchor_syslog: bool,
    },
    /// Users of the server.
    #[command(subcommand)]
    User(UserCommand),
    /// Cases (compartments) and their members and sources.
    #[command(subcommand)]
    Case(CaseCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Retention periods.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Erase a record or an entity's records with everything derived from them.
    Erase {
        workspace: PathBuf,
        /// `source:record_id`
        #[arg(long, conflicts_with = "entity", required_unless_present = "entity")]
        record: Option<String>,
        /// Entity id (E12): every record of it.
        #[arg(long)]
        entity: Option<String>,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a one-time password and an API token.
    Add {
        workspace: PathBuf,
        name: String,
        /// admin, analyst or auditor
        #[arg(long)]
        role: String,
    },
    /// List users.
    List { workspace: PathBuf },
    /// Set a new one-time password (printed once) that must be changed at the next
    /// login; the user's sessions end, and their lock-out for wrong passwords is lifted.
    #[command(name = "reset", visible_alias = "password")]
    Password { workspace: PathBuf, name: String },
}

#[derive(Subcommand)]
pub enum CaseCommand {
    /// Create a case (or add to an existing one) with members and sources.
    Add {
        workspace: PathBuf,
        name: String,
        /// A user to make a member (repeat for several).
        #[arg(long = "member")]
        members: Vec<String>,
        /// A source to place in the case (repeat for several).
        #[arg(long = "source")]
        sources: Vec<String>,
        /// The legal basis of the sources placed.
        #[arg(long, default_value = "unspecified")]
        legal_basis: String,
        /// Days after storing that the sources' records are erased.
        #[arg(long)]
        retention_days: Option<i64>,
    },
    /// List cases and members.
    List { workspace: PathBuf },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Prove the log was not altered (exit 1 naming the entry if it was): the hash
    /// chain, each entry's seal under the audit key, and the anchors an auditor kept.
    Verify {
        workspace: PathBuf,
        #[arg(long)]
        json: bool,
        /// A file of anchors (`spirit audit anchor --out`) to check the log against.
        #[arg(long)]
        anchors: Option<PathBuf>,
        /// The anchor key the auditor trusts (hex, as `spirit audit anchor` prints it);
        /// without it, anchors must be signed by this workspace's key.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Take a signed checkpoint of the log (head, entries, time; Ed25519) for the
    /// auditor to keep outside the workspace.
    Anchor {
        workspace: PathBuf,
        /// Append the anchor to this file (created if missing) instead of printing it.
        #[arg(long, conflicts_with = "syslog")]
        out: Option<PathBuf>,
        /// Send the anchor to the system log (facility auth) instead of printing it.
        #[arg(long)]
        syslog: bool,
    },
    /// Find the entries that logged a given search text or erased record key (they are
    /// kept only as keyed hashes; this needs the workspace's audit key).
    Term {
        workspace: PathBuf,
        /// The text, as searched or as the record key `source:record_id`.
        text: String,
        /// Entries shown at most.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Erase what has outlived its source's retention period, with cascade.
    Apply { workspace: PathBuf },
}

pub(crate) fn actor() -> String {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{who}")
}

/// Where anchors go: the system log, a file, or (`None`) the caller's output.
fn sink(syslog: bool, out: Option<PathBuf>) -> Option<anchor::Sink> {
    match (syslog, out) {
        (true, _) => Some(anchor::Sink::Syslog),
        (false, Some(path)) => Some(anchor::Sink::File(path)),
        (false, None) => None,
    }
}

fn open_write(dir: &Path) -> Result<Workspace> {
    Workspace::open(dir, Access::Write).with_context(|| format!("opening {}", dir.display()))
}

pub fn run(command: ServerCommand) -> Result<ExitCode> {
    match command {
        ServerCommand::Serve {
            workspace,
            listen,
            max_body_mib,
            insecure_cookie,
            retention_every_minutes,
            tls_cert,
            tls_key,
            anchor_every_minutes,
            anchor_out,
            anchor_syslog,
        } => {
            let tls = tls_cert.zip(tls_key);
            let anchor_every = match (anchor_every_minutes, sink(anchor_syslog, anchor_out)) {
                (0, None) => None,
                (0, Some(_)) => {
                    bail!("--anchor-out and --anchor-syslog need --anchor-every-minutes")
                }
                (_, None) => bail!(
                    "--anchor-every-minutes needs somewhere to send the anchors: \
                     --anchor-out FILE or --anchor-syslog"
                ),
                (minutes, Some(sink)) => Some((std::time::Duration::from_secs(minutes * 60), sink)),
            };
            let config = spirit_server::Config {
                max_body_bytes: max_body_mib.max(1) * 1024 * 1024,
                secure_cookie: !insecure_cookie,
                retention_every: (retention_every_minutes > 0)
                    .then(|| std::time::Duration::from_secs(retention_every_minutes * 60)),
                tls: tls.is_some(),
                anchor_every,
                ..spirit_server::Config::default()
            };
            let state = spirit_server::AppState::open(&workspace, config)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                let shutdown = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                let addr = listener.local_addr()?;
                match &tls {
                    Some((cert, key)) => {
                        // Refuse a bad certificate before saying that anything is served.
                        spirit_server::tls_config(cert, key).await?;
                        eprintln!(
                            "spirit: serving {} on https://{addr} (OpenAPI at /openapi.json)",
                            workspace.display()
                        );
                        let std = listener.into_std()?;
                        spirit_server::serve_tls(std, state, cert, key, shutdown).await?;
                    }
                    None => {
                        eprintln!(
                            "spirit: serving {} on http://{addr} (OpenAPI at /openapi.json)",
                            workspace.display()
                        );
                        spirit_server::serve(listener, state, shutdown).await?;
                    }
                }
                anyhow::Ok(())
            })?;
        }
        ServerCommand::User(UserCommand::Add {
            workspace,
            name,
            role,
        }) => {
            let Some(role) = Role::parse(&role) else {
                bail!("role {role:?} is not admin, analyst or auditor");
            };
            let mut ws = open_write(&workspace)?;
            let made = access::create_user(ws.connection(), &name, role)?;
            let mut e = Entry::new(&actor(), "user.create");
            e.target = Some(name.clone());
            e.detail = json!({ "role": role.name() });
            audit::append_to(&mut ws, &[e])?;
            println!("user: {}", made.user.name);
            println!("role: {}", role.name());
            println!("password: {}", made.password);
            println!("token: {}", made.token);
            eprintln!("the password and the token are shown once; store them safely");
        }
        ServerCommand::User(UserCommand::List { workspace }) => {
            let ws = Workspace::open(&workspace, Access::Read)?;
            for u in access::users(ws.connection())? {
                println!("{}\t{}", u.name, u.role.name());
            }
        }
        ServerCommand::User(UserCommand::Password { workspace, name }) => {
            let mut ws = open_write(&workspace)?;
            let password = access::reset_password(ws.connection(), &name)?;
            spirit_server::throttle::lift(&workspace, &name)
                .with_context(|| format!("lifting the lock-out of {name}"))?;
            let mut e = Entry::new(&actor(), "user.password");
            e.target = Some(name);
            audit::append_to(&mut ws, &[e])?;
            println!("password: {password}");
        }
        ServerCommand::Case(CaseCommand::Add {
            workspace,
            name,
            members,
            sources,
            legal_basis,
            retention_days,
        }) => {
            let mut ws = open_write(&workspace)?;
            let conn = ws.connection();
            let mut entries = Vec::new();
            if access::case_id(conn, &name)?.is_none() {
                access::create_case(conn, &name)?;
                println!("case {name} created");
                let mut e = Entry::new(&actor(), "case.create");
                e.case = Some(name.clone());
                entries.push(e);
            }
            for m in &members {
                access::add_member(conn, &name, m)?;
                println!("member {m}");
                let mut e = Entry::new(&actor(), "case.member.add");
                e.case = Some(name.clone());
                e.target = Some(m.clone());
                entries.push(e);
            }
            for s in &sources {
                access::create_source(conn, s, &name, &legal_basis, retention_days)?;
                println!("source {s}");
                let mut e = Entry::new(&actor(), "source.create");
                e.case = Some(name.clone());
                e.target = Some(s.clone());
                e.detail = json!({ "legal_basis": legal_basis, "retention_days": retention_days });
                entries.push(e);
            }
            audit::append_to(&mut ws, &entries)?;
        }
        ServerCommand::Case(CaseCommand::List { workspace }) => {
            let ws = Workspace::open(&workspace, Access::Read)?;
            for c in access::cases(ws.connection(), None)? {
                println!("{}\t{}", c.name, c.members.join(","));
            }
        }
        ServerCommand::Audit(AuditCommand::Verify {
            workspace,
            json,
            anchors,
            public_key,
        }) => {
            let ws = Workspace::open(&workspace, Access::Read)?;
            let anchors = match &anchors {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading anchors {}", path.display()))?;
                    let origin = path.display().to_string();
                    let found = anchor::parse(&text, &origin)?;
                    if found.is_empty() {
                        bail!("{origin} holds no anchor");
                    }
                    found
                }
                None => Vec::new(),
            };
            let v = anchor::verify(
                ws.connection(),
                ws.audit_key_if_any(),
                &anchors,
                public_key.as_deref(),
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if v.ok() {
                let sealed = spirit_store::keys::sealed_from(ws.connection())?;
                println!(
                    "audit log intact: {} entries, head {}{}{}",
                    v.entries,
                    v.head,
                    sealed.map_or(String::new(), |s| format!(", sealed from entry {s}")),
                    if anchors.is_empty() {
                        String::new()
                    } else {
                        format!(", {} anchors hold", anchors.len())
                    }
                );
            } else {
                for p in &v.problems {
                    println!("entry {}: {}", p.seq, p.message);
                }
            }
            if !v.ok() {
                eprintln!(
                    "error: the audit log was altered; first problem at entry {}",
                    v.problems.first().map_or(0, |p| p.seq)
                );
                return Ok(ExitCode::from(1));
            }
        }
        ServerCommand::Audit(AuditCommand::Anchor {
            workspace,
            out,
            syslog,
        }) => {
            let mut ws = open_write(&workspace)?;
            let sink = sink(syslog, out);
            let a = anchor::anchor_to(&mut ws, &actor(), sink.as_ref())?;
            if sink.is_none() {
                println!("{}", serde_json::to_string(&a)?);
            }
            eprintln!(
                "anchored entry {} ({} entries); anchor key {}",
                a.seq, a.entries, a.public_key
            );
        }
        ServerCommand::Audit(AuditCommand::Term {
            workspace,
            text,
            limit,
        }) => {
            let mut ws = open_write(&workspace)?;
            let key = ws.audit_key()?;
            let found = audit::find_term(ws.connection(), &key, &text, limit)?;
            let mut e = Entry::new(&actor(), "audit.term");
            e.target = Some(key.term(&text));
            e.detail = json!({ "entries": found.len() });
            audit::append_to(&mut ws, &[e])?;
            for s in &found {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    s.seq,
                    s.at,
                    s.actor,
                    s.case.as_deref().unwrap_or("-"),
                    s.action,
                    s.outcome
                );
            }
            eprintln!("{} entries logged {}", found.len(), key.term(&text));
        }
        ServerCommand::Retention(RetentionCommand::Apply { workspace }) => {
            let mut ws = open_write(&workspace)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default();
            let report = retention::apply_retention(&mut ws, &actor(), now)?;
            for (source, days, n) in &report.sources {
                println!("{source}: retention {days} days, {n} records erased");
            }
            println!(
                "erased {} records, {} attributes, {} edges, {} judgements; {} entities re-resolved, {} retired",
                report.total.records,
                report.total.attributes,
                report.total.edges,
                report.total.judgements,
                report.total.entities_touched,
                report.total.entities_emptied
            );
        }
        ServerCommand::Erase {
            workspace,
            record,
            entity,
            reason,
        } => {
            if reason.trim().is_empty() {
                bail!("an erasure needs a --reason");
            }
            let mut ws = open_write(&workspace)?;
            let conn = ws.connection();
            let (ids, target) = if let Some(key) = &record {
                (
                    vec![spirit_store::judge::find_record(conn, key)?],
                    ws.audit_key()?.term(key),
                )
            } else {
                let text = entity.clone().unwrap_or_default();
                let Some(id) = spirit_store::parse_entity(&text) else {
                    bail!("{text:?} is not an entity id (like E12)");
                };
                let all = scope::Scope::everything(conn)?;
                let ids = scope::visible_members(conn, &all, id)?;
                if ids.is_empty() {
                    eprintln!("error: entity {text} has no records");
                    return Ok(ExitCode::from(1));
                }
                (ids, text)
            };
            let mut e = Entry::new(
                &actor(),
                if record.is_some() {
                    "record.erase"
                } else {
                    "entity.erase"
                },
            );
            e.target = Some(target);
            e.detail = json!({ "reason": reason });
            let r = retention::erase(&mut ws, &ids, e)?;
            println!(
                "erased {} records, {} attributes, {} edges, {} judgements; {} entities re-resolved, {} retired",
                r.records,
                r.attributes,
                r.edges,
                r.judgements,
                r.entities_touched,
                r.entities_emptied
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
