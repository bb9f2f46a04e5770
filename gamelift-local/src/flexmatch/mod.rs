//! FlexMatch's data and logic, with no service around them: the rule set language (`rules`,
//! `expr`), match formation (`engine`, pure), and the records the service keeps (rule sets,
//! configurations, tickets, matches, matched sessions). The service's `matchmaking` module
//! moves tickets through their life with the rest of the service.

pub(crate) mod engine;
pub(crate) mod expr;
pub(crate) mod rules;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use engine::{Levels, MatchPlayer};

/// A stored rule set.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RuleSetRecord {
    pub name: String,
    pub arn: String,
    pub body: String,
    pub creation_millis: u64,
}

/// A matchmaking configuration.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Configuration {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub rule_set_name: String,
    pub rule_set_arn: String,
    pub request_timeout_seconds: i64,
    pub acceptance_required: bool,
    pub acceptance_timeout_seconds: Option<i64>,
    /// `STANDALONE` or `WITH_QUEUE`.
    pub standalone: bool,
    pub queue_arns: Vec<String>,
    pub additional_player_count: i64,
    /// `AUTOMATIC` or `MANUAL` (None: not set).
    pub backfill_mode: Option<String>,
    pub game_properties: Vec<(String, String)>,
    pub game_session_data: Option<String>,
    pub notification_target: Option<String>,
    pub custom_event_data: Option<String>,
    pub creation_millis: u64,
}

/// A ticket's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TicketStatus {
    Queued,
    Searching,
    RequiresAcceptance,
    Placing,
    Completed,
    Failed,
    Cancelled,
    TimedOut,
}

impl TicketStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Queued => "QUEUED",
            TicketStatus::Searching => "SEARCHING",
            TicketStatus::RequiresAcceptance => "REQUIRES_ACCEPTANCE",
            TicketStatus::Placing => "PLACING",
            TicketStatus::Completed => "COMPLETED",
            TicketStatus::Failed => "FAILED",
            TicketStatus::Cancelled => "CANCELLED",
            TicketStatus::TimedOut => "TIMED_OUT",
        }
    }

    /// Whether the ticket is finished.
    pub fn terminal(self) -> bool {
        matches!(
            self,
            TicketStatus::Completed
                | TicketStatus::Failed
                | TicketStatus::Cancelled
                | TicketStatus::TimedOut
        )
    }
}

/// A matchmaking or backfill ticket.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Ticket {
    pub id: String,
    pub configuration: String,
    pub status: TicketStatus,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub start_millis: u64,
    pub end_millis: Option<u64>,
    /// The players as requested (attributes with the rule set's defaults filled in).
    pub players: Arc<Vec<MatchPlayer>>,
    /// The attribute names each player gave (the others are defaults).
    pub given: Vec<Vec<String>>,
    pub eligible: bool,
    /// A backfill ticket: the game session it fills.
    pub backfill_session: Option<String>,
    /// An automatic backfill ticket.
    pub automatic: bool,
    /// The match it is in (proposed or made).
    pub match_id: Option<String>,
    /// Players' teams once matched.
    pub teams: BTreeMap<String, String>,
    /// Connection info once COMPLETED with a game session: ARN, IP, DNS, port, and
    /// (player, player session) per player of this ticket.
    pub connection: Option<Connection>,
}

/// Where a completed ticket's players connect.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Connection {
    pub game_session_arn: String,
    pub ip_address: String,
    pub dns_name: Option<String>,
    pub port: u16,
    pub player_sessions: Vec<(String, Option<String>)>,
}

/// A match, from its proposal to its placement.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Match {
    pub id: String,
    pub configuration: String,
    pub tickets: Vec<String>,
    /// (team, player ids).
    pub teams: Vec<(String, Vec<String>)>,
    pub region: Option<String>,
    /// Acceptance: the deadline, and each new player's answer so far.
    pub acceptance_deadline: Option<u64>,
    pub answers: BTreeMap<String, bool>,
    pub placement: Option<String>,
    /// The backfill ticket, for a backfill match.
    pub backfill: Option<String>,
}

/// A game session FlexMatch created or filled.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MatchedSession {
    pub configuration: String,
    pub match_id: String,
    /// (team, players).
    pub teams: Vec<(String, Vec<MatchPlayer>)>,
    pub automatic: bool,
    /// The current automatic backfill ticket.
    pub auto_ticket: Option<String>,
    /// StopMatchmaking on the automatic ticket turned automatic backfill off.
    pub auto_off: bool,
}

/// One Region's matchmaking.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Matchmaking {
    pub rule_sets: BTreeMap<String, RuleSetRecord>,
    pub configurations: BTreeMap<String, Configuration>,
    pub tickets: HashMap<String, Ticket>,
    /// Tickets not yet finished, by configuration.
    pub active: BTreeMap<String, BTreeSet<String>>,
    /// The active ticket of each player.
    pub player_tickets: HashMap<String, String>,
    pub matches: HashMap<String, Match>,
    pub sessions: HashMap<String, MatchedSession>,
    /// Compiled rule sets, by rule set name (not stored; compiled again when needed).
    #[serde(skip)]
    compiled: HashMap<String, Arc<Levels>>,
}

/// The most finished tickets kept per Region; older ones are forgotten first.
pub const KEPT_FINISHED_TICKETS: usize = 100_000;

impl Matchmaking {
    /// The compiled rule set `name` (compiling it on first use).
    pub fn levels(&mut self, name: &str) -> Option<Arc<Levels>> {
        if let Some(levels) = self.compiled.get(name) {
            return Some(levels.clone());
        }
        let record = self.rule_sets.get(name)?;
        let rule_set = rules::parse(&record.body).ok()?;
        let levels = Arc::new(Levels::new(&rule_set));
        self.compiled.insert(name.to_string(), levels.clone());
        Some(levels)
    }

    /// Forgets a rule set's compiled form.
    pub fn forget_compiled(&mut self, name: &str) {
        self.compiled.remove(name);
    }

    /// Adds a ticket (QUEUED), cancelling older active tickets of its players.
    pub fn insert(&mut self, ticket: Ticket, now: u64) {
        for player in ticket.players.iter() {
            if ticket.backfill_session.is_some() {
                break;
            }
            if let Some(older) = self.player_tickets.get(&player.id).cloned()
                && older != ticket.id
                && self
                    .tickets
                    .get(&older)
                    .is_some_and(|t| t.status != TicketStatus::Placing && !t.status.terminal())
            {
                self.finish(
                    &older,
                    TicketStatus::Cancelled,
                    Some("Cancelled due to duplicate player"),
                    Some("A newer request names a player of this ticket."),
                    now,
                );
            }
        }
        if ticket.backfill_session.is_none() {
            for player in ticket.players.iter() {
                self.player_tickets
                    .insert(player.id.clone(), ticket.id.clone());
            }
        }
        self.active
            .entry(ticket.configuration.clone())
            .or_default()
            .insert(ticket.id.clone());
        self.tickets.insert(ticket.id.clone(), ticket);
    }

    /// Moves a ticket to `status` (not a terminal one).
    pub fn set(&mut self, id: &str, status: TicketStatus) {
        if let Some(ticket) = self.tickets.get_mut(id)
            && !ticket.status.terminal()
        {
            ticket.status = status;
            tracing::info!(target: "gamelift_local", ticket = id, status = status.as_str(), "matchmaking ticket {}", status.as_str());
        }
    }

    /// Ends a ticket with a terminal `status`.
    pub fn finish(
        &mut self,
        id: &str,
        status: TicketStatus,
        reason: Option<&str>,
        message: Option<&str>,
        now: u64,
    ) {
        let Some(ticket) = self.tickets.get_mut(id) else {
            return;
        };
        if ticket.status.terminal() {
            return;
        }
        ticket.status = status;
        ticket.reason = reason.map(str::to_string);
        ticket.message = message.map(str::to_string);
        ticket.end_millis = Some(now);
        tracing::info!(target: "gamelift_local", ticket = id, status = status.as_str(), reason = reason.unwrap_or(""), "matchmaking ticket {}", status.as_str());
        if let Some(active) = self.active.get_mut(&ticket.configuration) {
            active.remove(id);
        }
        for player in ticket.players.iter() {
            if self.player_tickets.get(&player.id).map(String::as_str) == Some(id) {
                self.player_tickets.remove(&player.id);
            }
        }
    }

    /// Forgets the oldest finished tickets beyond [`KEPT_FINISHED_TICKETS`].
    pub fn trim(&mut self) {
        let active: usize = self.active.values().map(BTreeSet::len).sum();
        let finished = self.tickets.len().saturating_sub(active);
        if finished <= KEPT_FINISHED_TICKETS {
            return;
        }
        let mut ended: Vec<(u64, String)> = self
            .tickets
            .values()
            .filter(|t| t.status.terminal())
            .map(|t| (t.end_millis.unwrap_or(0), t.id.clone()))
            .collect();
        ended.sort();
        for (_, id) in ended.into_iter().take(finished - KEPT_FINISHED_TICKETS) {
            self.tickets.remove(&id);
        }
    }
}
