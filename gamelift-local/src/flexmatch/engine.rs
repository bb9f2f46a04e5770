//! Match formation: from a pool of searching tickets (a snapshot, taken without holding the
//! service's state lock while matching), the matches a rule set allows.
//!
//! As FlexMatch documents it: tickets are taken oldest first; a match is built around the
//! oldest ticket not yet matched (the anchor) by adding candidates one by one, in age order
//! reordered by the sort rules, keeping a candidate (on the first team it fits, teams under
//! their minimum first, then the team with the most open slots) only when every rule still
//! holds. Expansions relax rules and team sizes with the age of the partial match. A match is
//! proposed once its teams are full, or when no candidate is left and every team has its
//! minimum. A backfill ticket brings its game session's players on their teams, and is matched
//! only with new players.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value as Json;

use super::expr::{self, Attr, Function, MatchView, Val};
use super::rules::{
    AttrType, CollectionOp, ExpansionTarget, Operation, Reference, Rule, RuleKind, RuleSet,
    Statement, Strategy,
};

/// How many candidates after the anchor are looked at for one match (the batch).
pub const WINDOW: usize = 256;

/// A player in a ticket, as the matchmaker sees them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MatchPlayer {
    pub id: String,
    /// Declared attributes, with the rule set's defaults filled in.
    pub attributes: BTreeMap<String, Attr>,
    /// (Region, milliseconds).
    pub latency: Vec<(String, f64)>,
    /// The team (backfill tickets: the player's current team).
    pub team: Option<String>,
}

/// A ticket in the pool.
#[derive(Debug, Clone)]
pub struct PoolTicket {
    pub id: String,
    pub players: Arc<Vec<MatchPlayer>>,
    pub start_millis: u64,
    /// A backfill ticket (its players are the session's current players).
    pub backfill: bool,
    /// False when it can never be matched (a missing attribute without a default, no latency
    /// with a latency rule, a party larger than any team).
    pub eligible: bool,
}

/// A proposed match.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// Indexes into the pool.
    pub tickets: Vec<usize>,
    /// Generated team names with their players: (pool index, player index).
    pub teams: Vec<(String, Vec<(usize, usize)>)>,
    /// The Region chosen by the latency rules, if any.
    pub region: Option<String>,
}

/// The teams a rule set generates: (generated name, definition name, min, max).
pub fn generated_teams(rule_set: &RuleSet) -> Vec<(String, String, i64, i64)> {
    let mut out = Vec::new();
    for team in &rule_set.teams {
        if team.quantity == 1 {
            out.push((
                team.name.clone(),
                team.name.clone(),
                team.min_players,
                team.max_players,
            ));
        } else {
            for n in 1..=team.quantity {
                out.push((
                    format!("{}_{n}", team.name),
                    team.name.clone(),
                    team.min_players,
                    team.max_players,
                ));
            }
        }
    }
    out
}

/// A rule set as each expansion level leaves it: level 0 is the rule set as written; level i
/// holds every step whose wait is at most `thresholds[i - 1]`.
#[derive(Debug, Clone)]
pub struct Levels {
    thresholds: Vec<f64>,
    sets: Vec<Arc<RuleSet>>,
}

impl Levels {
    /// The levels of `rule_set`.
    pub fn new(rule_set: &RuleSet) -> Self {
        let mut thresholds: Vec<f64> = rule_set
            .expansions
            .iter()
            .flat_map(|e| e.steps.iter().map(|s| s.wait_seconds))
            .collect();
        thresholds.sort_by(f64::total_cmp);
        thresholds.dedup();
        let mut sets = vec![Arc::new(rule_set.clone())];
        for threshold in &thresholds {
            let mut expanded = rule_set.clone();
            for expansion in &rule_set.expansions {
                if let Some(step) = expansion
                    .steps
                    .iter()
                    .rev()
                    .find(|s| s.wait_seconds <= *threshold)
                {
                    apply_step(&mut expanded, &expansion.target, &step.value);
                }
            }
            sets.push(Arc::new(expanded));
        }
        Levels { thresholds, sets }
    }

    /// The rule set for a partial match whose age is `age_seconds`.
    pub fn at(&self, age_seconds: f64) -> &Arc<RuleSet> {
        let level = self
            .thresholds
            .iter()
            .take_while(|t| **t <= age_seconds)
            .count();
        &self.sets[level]
    }
}

fn number(value: &Json) -> Option<f64> {
    match value {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn apply_step(rule_set: &mut RuleSet, target: &ExpansionTarget, value: &Json) {
    match target {
        ExpansionTarget::Teams(names, min) => {
            let Some(n) = number(value) else { return };
            for team in rule_set
                .teams
                .iter_mut()
                .filter(|t| names.contains(&t.name))
            {
                if *min {
                    team.min_players = (n as i64).min(team.max_players);
                } else {
                    team.max_players = (n as i64).max(team.min_players);
                }
            }
        }
        ExpansionTarget::Rule(name, property) => {
            let Some(rule) = rule_set.rules.iter_mut().find(|r| &r.name == name) else {
                return;
            };
            let reference = || match value {
                Json::String(text) if text.contains('[') || text.contains('(') => {
                    expr::Expr::parse(text).ok().map(Reference::Expr)
                }
                Json::String(text) => Some(
                    text.trim()
                        .parse()
                        .map(Reference::Number)
                        .unwrap_or_else(|_| Reference::Text(text.clone())),
                ),
                Json::Array(items) => Some(Reference::List(
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_string))
                        .collect(),
                )),
                other => number(other).map(Reference::Number),
            };
            match (&mut rule.kind, property.as_str()) {
                (RuleKind::Comparison { reference: r, .. }, "referenceValue") => *r = reference(),
                (RuleKind::Distance { reference: r, .. }, "referenceValue") => {
                    if let Some(new) = reference() {
                        *r = new;
                    }
                }
                (RuleKind::Distance { min_distance, .. }, "minDistance") => {
                    *min_distance = number(value)
                }
                (RuleKind::Distance { max_distance, .. }, "maxDistance") => {
                    *max_distance = number(value)
                }
                (RuleKind::BatchDistance { max_distance, .. }, "maxDistance") => {
                    *max_distance = number(value)
                }
                (RuleKind::Collection { min_count, .. }, "minCount") => *min_count = number(value),
                (RuleKind::Collection { max_count, .. }, "maxCount") => *max_count = number(value),
                (RuleKind::Collection { reference: r, .. }, "referenceValue") => *r = reference(),
                (RuleKind::Latency { max_latency, .. }, "maxLatency") => {
                    *max_latency = number(value)
                }
                (RuleKind::Latency { max_distance, .. }, "maxDistance") => {
                    *max_distance = number(value)
                }
                _ => {}
            }
        }
    }
}

/// Whether a ticket of `players` can ever be matched by `rule_set`.
pub fn eligible(rule_set: &RuleSet, players: &[MatchPlayer], backfill: bool) -> bool {
    let largest_team = rule_set
        .teams
        .iter()
        .map(|t| t.max_players)
        .max()
        .unwrap_or(0);
    let needs_latency = rule_set
        .rules
        .iter()
        .any(|r| matches!(r.kind, RuleKind::Latency { .. }));
    let complete = players.iter().all(|p| {
        rule_set
            .attributes
            .iter()
            .all(|a| p.attributes.contains_key(&a.name))
            && (!needs_latency || !p.latency.is_empty())
    });
    let teams = generated_teams(rule_set);
    let fits = if backfill {
        players.iter().all(|p| {
            p.team
                .as_ref()
                .is_some_and(|t| teams.iter().any(|(name, ..)| name == t))
        })
    } else {
        players.len() as i64 <= largest_team
    };
    complete && fits && !players.is_empty()
}

/// A partial match.
struct Partial<'p> {
    pool: &'p [PoolTicket],
    /// Generated teams: (name, definition name).
    names: Vec<(String, String)>,
    /// Players on each team: (pool index, player index).
    teams: Vec<Vec<(usize, usize)>>,
    tickets: Vec<usize>,
    /// Set while a rule with a party aggregation is evaluated.
    party: Option<Function>,
}

impl Attr {
    /// The number, for number attributes (0 otherwise).
    #[cfg(test)]
    fn number(&self) -> f64 {
        match self {
            Attr::Num(n) => *n,
            _ => 0.0,
        }
    }
}

impl MatchView for Partial<'_> {
    fn team_names(&self) -> Vec<(&str, &str)> {
        self.names
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_str()))
            .collect()
    }

    fn team_players(&self, index: usize) -> Vec<&str> {
        self.teams[index]
            .iter()
            .map(|(t, p)| self.pool[*t].players[*p].id.as_str())
            .collect()
    }

    fn attribute(&self, index: usize, player: usize, name: &str) -> Option<Val> {
        let (ticket, p) = self.teams[index][player];
        let value = self.pool[ticket].players[p].attributes.get(name)?;
        if let (Some(function), Attr::Num(_)) = (self.party, value) {
            let numbers: Vec<f64> = self.pool[ticket]
                .players
                .iter()
                .filter_map(|pl| match pl.attributes.get(name) {
                    Some(Attr::Num(n)) => Some(*n),
                    _ => None,
                })
                .collect();
            return expr::aggregate(function, &numbers);
        }
        Some(Val::from(value))
    }
}

impl Partial<'_> {
    fn players(&self) -> impl Iterator<Item = &MatchPlayer> {
        self.teams
            .iter()
            .flatten()
            .map(|(t, p)| &self.pool[*t].players[*p])
    }

    fn size(&self) -> usize {
        self.teams.iter().map(Vec::len).sum()
    }
}

fn compare(a: &Val, b: &Val, operation: Operation) -> bool {
    let ordering = match (a, b) {
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        _ => None,
    };
    let Some(ordering) = ordering else {
        return operation == Operation::Ne;
    };
    use std::cmp::Ordering::*;
    match operation {
        Operation::Lt => ordering == Less,
        Operation::Le => ordering != Greater,
        Operation::Eq => ordering == Equal,
        Operation::Ne => ordering != Equal,
        Operation::Gt => ordering == Greater,
        Operation::Ge => ordering != Less,
    }
}

fn reference_values(reference: &Reference, view: &Partial<'_>) -> Option<Vec<Val>> {
    Some(match reference {
        Reference::Number(n) => vec![Val::Num(*n)],
        Reference::Text(t) => vec![Val::Str(t.clone())],
        Reference::List(l) => l.iter().map(|s| Val::Str(s.clone())).collect(),
        Reference::Expr(e) => expr::scalars(expr::eval(e, view)?),
    })
}

/// Evaluates one rule. `complete` is false while the match is still being built: then rules
/// that count players wait for the complete match, and values that cannot be formed yet pass.
fn rule_holds(
    rule: &Rule,
    view: &mut Partial<'_>,
    complete: bool,
    results: &HashMap<&str, bool>,
    region: &mut Option<String>,
) -> bool {
    match &rule.kind {
        RuleKind::Comparison {
            measurements,
            reference,
            operation,
            party,
        } => {
            if !complete
                && (measurements.iter().any(expr::Expr::counts)
                    || matches!(reference, Some(Reference::Expr(e)) if e.counts()))
            {
                return true;
            }
            view.party = *party;
            let values: Option<Vec<Val>> = measurements
                .iter()
                .map(|m| expr::eval(m, view).map(expr::scalars))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.concat());
            let references = reference.as_ref().map(|r| reference_values(r, view));
            view.party = None;
            let Some(values) = values else {
                return !complete;
            };
            match references {
                Some(Some(references)) => values
                    .iter()
                    .all(|v| references.iter().all(|r| compare(v, r, *operation))),
                Some(None) => !complete,
                None => match operation {
                    Operation::Eq => values
                        .windows(2)
                        .all(|w| compare(&w[0], &w[1], Operation::Eq)),
                    _ => {
                        let mut seen: Vec<&Val> = Vec::new();
                        values.iter().all(|v| {
                            let new = !seen.iter().any(|s| compare(s, v, Operation::Eq));
                            seen.push(v);
                            new
                        })
                    }
                },
            }
        }
        RuleKind::Distance {
            measurements,
            reference,
            min_distance,
            max_distance,
            party,
        } => {
            if !complete
                && (measurements.iter().any(expr::Expr::counts)
                    || matches!(reference, Reference::Expr(e) if e.counts()))
            {
                return true;
            }
            view.party = *party;
            let values: Option<Vec<Val>> = measurements
                .iter()
                .map(|m| expr::eval(m, view).map(expr::scalars))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.concat());
            let references = reference_values(reference, view);
            view.party = None;
            let (Some(values), Some(references)) = (values, references) else {
                return !complete;
            };
            values.iter().all(|v| {
                references.iter().all(|r| match (v, r) {
                    (Val::Num(a), Val::Num(b)) => {
                        let d = (a - b).abs();
                        min_distance.is_none_or(|m| d >= m) && max_distance.is_none_or(|m| d <= m)
                    }
                    _ => false,
                })
            })
        }
        RuleKind::BatchDistance {
            attribute,
            max_distance,
            party,
        } => {
            let mut numbers = Vec::new();
            let mut texts = Vec::new();
            for ticket in &view.tickets {
                let players = &view.pool[*ticket].players;
                let ns: Vec<f64> = players
                    .iter()
                    .filter_map(|p| match p.attributes.get(attribute) {
                        Some(Attr::Num(n)) => Some(*n),
                        _ => None,
                    })
                    .collect();
                if let Some(Val::Num(n)) = expr::aggregate(*party, &ns) {
                    numbers.push(n);
                }
                texts.extend(
                    players
                        .iter()
                        .filter_map(|p| match p.attributes.get(attribute) {
                            Some(Attr::Str(s)) => Some(s.as_str()),
                            _ => None,
                        }),
                );
            }
            let spread_ok = match (
                numbers.iter().copied().reduce(f64::min),
                numbers.iter().copied().reduce(f64::max),
            ) {
                (Some(lo), Some(hi)) => max_distance.is_none_or(|m| hi - lo <= m),
                _ => true,
            };
            spread_ok && texts.windows(2).all(|w| w[0] == w[1])
        }
        RuleKind::Collection {
            measurements,
            reference,
            operation,
            min_count,
            max_count,
        } => {
            let in_bounds =
                |n: f64| min_count.is_none_or(|m| n >= m) && max_count.is_none_or(|m| n <= m);
            let Some(values) = measurements
                .iter()
                .map(|m| expr::eval(m, view).map(expr::scalars))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.concat())
            else {
                return !complete;
            };
            let collections: Vec<Vec<String>> = values
                .into_iter()
                .map(|v| match v {
                    Val::StrList(l) => l,
                    Val::Str(s) => vec![s],
                    _ => Vec::new(),
                })
                .collect();
            let reference: Vec<String> = match reference {
                Some(r) => match reference_values(r, view) {
                    Some(values) => values
                        .into_iter()
                        .flat_map(|v| match v {
                            Val::Str(s) => vec![s],
                            Val::StrList(l) => l,
                            _ => Vec::new(),
                        })
                        .collect(),
                    None => return !complete,
                },
                None => Vec::new(),
            };
            match operation {
                CollectionOp::Intersection => {
                    if collections.is_empty() {
                        return true;
                    }
                    let mut common = collections[0].clone();
                    common.sort();
                    common.dedup();
                    for c in &collections[1..] {
                        common.retain(|v| c.contains(v));
                    }
                    // While building, the intersection can only shrink: a maximum can be
                    // judged now, a minimum only on the complete match... or now, as it can
                    // only get worse.
                    in_bounds(common.len() as f64)
                }
                CollectionOp::Contains => {
                    let n = collections
                        .iter()
                        .filter(|c| reference.iter().any(|r| c.contains(r)))
                        .count() as f64;
                    if complete {
                        in_bounds(n)
                    } else {
                        max_count.is_none_or(|m| n <= m)
                    }
                }
                CollectionOp::ReferenceIntersectionCount => collections.iter().all(|c| {
                    let mut items = c.clone();
                    items.sort();
                    items.dedup();
                    in_bounds(items.iter().filter(|i| reference.contains(i)).count() as f64)
                }),
            }
        }
        RuleKind::Latency {
            max_latency,
            max_distance,
            reference_is_avg,
        } => {
            // The Regions every player reports within maxLatency.
            let players: Vec<&MatchPlayer> = view.players().collect();
            if players.is_empty() {
                return true;
            }
            let mut best: Option<(f64, String)> = None;
            for (name, _) in &players[0].latency {
                let latencies: Option<Vec<f64>> = players
                    .iter()
                    .map(|p| p.latency.iter().find(|(r, _)| r == name).map(|(_, ms)| *ms))
                    .collect();
                let Some(latencies) = latencies else { continue };
                if max_latency.is_some_and(|m| latencies.iter().any(|l| *l > m)) {
                    continue;
                }
                let lowest = latencies.iter().copied().fold(f64::INFINITY, f64::min);
                let average = latencies.iter().sum::<f64>() / latencies.len() as f64;
                let reference = if *reference_is_avg { average } else { lowest };
                if max_distance.is_some_and(|m| latencies.iter().any(|l| l - reference > m)) {
                    continue;
                }
                if best.as_ref().is_none_or(|(a, _)| average < *a) {
                    best = Some((average, name.clone()));
                }
            }
            match best {
                Some((_, name)) => {
                    *region = Some(name);
                    true
                }
                None => false,
            }
        }
        RuleKind::AbsoluteSort { .. } | RuleKind::DistanceSort { .. } => true,
        RuleKind::Compound(statement) => statement_holds(statement, results),
    }
}

fn statement_holds(statement: &Statement, results: &HashMap<&str, bool>) -> bool {
    match statement {
        Statement::Rule(name) => results.get(name.as_str()).copied().unwrap_or(false),
        Statement::And(items) => items.iter().all(|s| statement_holds(s, results)),
        Statement::Or(items) => items.iter().any(|s| statement_holds(s, results)),
        Statement::Xor(items) => items.iter().filter(|s| statement_holds(s, results)).count() == 1,
        Statement::Not(inner) => !statement_holds(inner, results),
    }
}

/// Whether every rule holds; the Region the latency rules chose.
fn all_hold(rule_set: &RuleSet, view: &mut Partial<'_>, complete: bool) -> Option<Option<String>> {
    let compound_inputs: Vec<&str> = rule_set
        .rules
        .iter()
        .filter_map(|r| match &r.kind {
            RuleKind::Compound(s) => Some(s),
            _ => None,
        })
        .flat_map(statement_names)
        .collect();
    let mut results: HashMap<&str, bool> = HashMap::new();
    let mut region = None;
    for rule in &rule_set.rules {
        let holds = rule_holds(rule, view, complete, &results, &mut region);
        // A rule a compound rule uses is judged through the compound rule only.
        if !holds && !compound_inputs.contains(&rule.name.as_str()) {
            return None;
        }
        results.insert(rule.name.as_str(), holds);
    }
    Some(region)
}

fn statement_names(statement: &Statement) -> Vec<&str> {
    match statement {
        Statement::Rule(name) => vec![name.as_str()],
        Statement::And(items) | Statement::Or(items) | Statement::Xor(items) => {
            items.iter().flat_map(statement_names).collect()
        }
        Statement::Not(inner) => statement_names(inner),
    }
}

/// The value of a sort attribute for a ticket (its players' average; for maps, the min or max
/// key's value).
fn sort_value(ticket: &PoolTicket, attribute: &str, map_key_max: bool) -> Option<f64> {
    let values: Vec<f64> = ticket
        .players
        .iter()
        .filter_map(|p| match p.attributes.get(attribute)? {
            Attr::Num(n) => Some(*n),
            Attr::NumMap(map) => {
                let values = map.values().copied();
                if map_key_max {
                    values.reduce(f64::max)
                } else {
                    values.reduce(f64::min)
                }
            }
            _ => None,
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Finds the matches `levels` allows in `pool` at time `now_millis`. `additional` slots are
/// left open in each new match.
pub fn find_matches(
    levels: &Levels,
    pool: &[PoolTicket],
    now_millis: u64,
    additional: i64,
) -> Vec<Proposal> {
    let base = levels.at(0.0).clone();
    let mut order: Vec<usize> = (0..pool.len()).filter(|&i| pool[i].eligible).collect();
    order.sort_by_key(|&i| (pool[i].start_millis, i));
    match base.algorithm.backfill_priority {
        super::rules::BackfillPriority::High => order.sort_by_key(|&i| !pool[i].backfill),
        super::rules::BackfillPriority::Low => order.sort_by_key(|&i| pool[i].backfill),
        super::rules::BackfillPriority::Normal => {}
    }
    if base.algorithm.batching == super::rules::Batching::Sorted {
        for attribute in base.algorithm.sort_by_attributes.iter().rev() {
            order.sort_by(|&a, &b| {
                let (x, y) = (
                    sort_value(&pool[a], attribute, false),
                    sort_value(&pool[b], attribute, false),
                );
                x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
            });
        }
    }
    let mut used = vec![false; pool.len()];
    let mut proposals = Vec::new();
    // Anchors that made no match stay candidates for the matches after them.
    let mut unmatched: Vec<usize> = Vec::new();
    for (position, &anchor) in order.iter().enumerate() {
        if used[anchor] {
            continue;
        }
        // This match's batch: the unmatched new-match tickets, oldest first.
        unmatched.retain(|&i| !used[i]);
        let mut window: Vec<usize> = unmatched
            .iter()
            .chain(order[position + 1..].iter())
            .copied()
            .filter(|&i| !used[i] && !pool[i].backfill)
            .take(WINDOW)
            .collect();
        match build(
            levels,
            &base,
            pool,
            anchor,
            &mut window,
            now_millis,
            additional,
        ) {
            Some(proposal) => {
                for &ticket in &proposal.tickets {
                    used[ticket] = true;
                }
                proposals.push(proposal);
            }
            None if !pool[anchor].backfill && unmatched.len() < WINDOW => unmatched.push(anchor),
            None => {}
        }
    }
    proposals
}

fn build(
    levels: &Levels,
    base: &RuleSet,
    pool: &[PoolTicket],
    anchor: usize,
    window: &mut [usize],
    now_millis: u64,
    additional: i64,
) -> Option<Proposal> {
    let generated = generated_teams(base);
    let mut partial = Partial {
        pool,
        names: generated
            .iter()
            .map(|(n, d, ..)| (n.clone(), d.clone()))
            .collect(),
        teams: vec![Vec::new(); generated.len()],
        tickets: vec![anchor],
        party: None,
    };
    let anchor_ticket = &pool[anchor];
    let age = |start: u64| now_millis.saturating_sub(start) as f64 / 1000.0;
    let mut newest = anchor_ticket.start_millis;
    let oldest = anchor_ticket.start_millis;
    let from_oldest = base.algorithm.age_from_oldest;
    let rules_at = |newest: u64| {
        levels
            .at(age(if from_oldest { oldest } else { newest }))
            .clone()
    };
    // Team sizes at a level: (min, max) per generated team.
    let sizes = |rule_set: &RuleSet| -> Vec<(i64, i64)> {
        generated_teams(rule_set)
            .iter()
            .map(|(_, _, min, max)| (*min, *max))
            .collect()
    };

    if anchor_ticket.backfill {
        for (p, player) in anchor_ticket.players.iter().enumerate() {
            let team = player
                .team
                .as_ref()
                .and_then(|t| partial.names.iter().position(|(n, _)| n == t))?;
            partial.teams[team].push((anchor, p));
        }
    } else {
        let rule_set = rules_at(newest);
        let team = choose_team(
            &partial,
            &sizes(&rule_set),
            anchor_ticket.players.len(),
            additional,
            &generated,
        )?;
        for p in 0..anchor_ticket.players.len() {
            partial.teams[team].push((anchor, p));
        }
        all_hold(&rule_set, &mut partial, false)?;
    }

    // Sort rules reorder the batch relative to the anchor (the first rule sorts last, so it
    // decides most).
    for rule in base.rules.iter().rev() {
        match &rule.kind {
            RuleKind::AbsoluteSort {
                attribute,
                descending,
                map_key_max,
            } => {
                window.sort_by(|&a, &b| {
                    let (x, y) = (
                        sort_value(&pool[a], attribute, *map_key_max),
                        sort_value(&pool[b], attribute, *map_key_max),
                    );
                    let o = x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
                    if *descending { o.reverse() } else { o }
                });
            }
            RuleKind::DistanceSort {
                attribute,
                descending,
                map_key_max,
            } => {
                let reference = sort_value(anchor_ticket, attribute, *map_key_max);
                window.sort_by(|&a, &b| {
                    let distance =
                        |t: usize| match (sort_value(&pool[t], attribute, *map_key_max), reference)
                        {
                            (Some(v), Some(r)) => (v - r).abs(),
                            _ => f64::INFINITY,
                        };
                    let o = distance(a)
                        .partial_cmp(&distance(b))
                        .unwrap_or(std::cmp::Ordering::Equal);
                    if *descending { o.reverse() } else { o }
                });
            }
            _ => {}
        }
    }

    let mut added_new = false;
    for &candidate in window.iter() {
        let ticket = &pool[candidate];
        let candidate_newest = newest.max(ticket.start_millis);
        let rule_set = rules_at(candidate_newest);
        let team_sizes = sizes(&rule_set);
        let capacity: i64 = team_sizes.iter().map(|(_, max)| max).sum::<i64>()
            - if anchor_ticket.backfill {
                0
            } else {
                additional.max(0)
            };
        if partial.size() as i64 + ticket.players.len() as i64 > capacity {
            continue;
        }
        let mut tried: Vec<usize> = Vec::new();
        let mut placed = false;
        while let Some(team) =
            choose_team_excluding(&partial, &team_sizes, ticket.players.len(), &tried)
        {
            tried.push(team);
            for p in 0..ticket.players.len() {
                partial.teams[team].push((candidate, p));
            }
            partial.tickets.push(candidate);
            if all_hold(&rule_set, &mut partial, false).is_some() {
                placed = true;
                break;
            }
            partial.tickets.pop();
            let keep = partial.teams[team].len() - ticket.players.len();
            partial.teams[team].truncate(keep);
        }
        if placed {
            newest = candidate_newest;
            added_new = true;
            if partial.size() as i64 >= capacity {
                break;
            }
        }
    }
    if anchor_ticket.backfill && !added_new {
        return None;
    }
    let rule_set = rules_at(newest);
    let team_sizes = sizes(&rule_set);
    if partial
        .teams
        .iter()
        .zip(&team_sizes)
        .any(|(team, (min, _))| (team.len() as i64) < *min)
    {
        return None;
    }
    if partial.size() == 0 {
        return None;
    }
    let region = all_hold(&rule_set, &mut partial, true)?;
    if rule_set.algorithm.strategy == Strategy::Balanced && !anchor_ticket.backfill {
        balance(&rule_set, &mut partial);
    }
    Some(Proposal {
        tickets: partial.tickets.clone(),
        teams: partial
            .names
            .iter()
            .map(|(n, _)| n.clone())
            .zip(partial.teams)
            .collect(),
        region,
    })
}

/// The team the next ticket of `party` players joins: teams under their minimum first, then
/// the team with the most open slots (the first such team on a tie).
fn choose_team(
    partial: &Partial<'_>,
    sizes: &[(i64, i64)],
    party: usize,
    additional: i64,
    _generated: &[(String, String, i64, i64)],
) -> Option<usize> {
    let _ = additional;
    choose_team_excluding(partial, sizes, party, &[])
}

fn choose_team_excluding(
    partial: &Partial<'_>,
    sizes: &[(i64, i64)],
    party: usize,
    excluded: &[usize],
) -> Option<usize> {
    let party = party as i64;
    (0..partial.teams.len())
        .filter(|t| !excluded.contains(t))
        .filter(|&t| partial.teams[t].len() as i64 + party <= sizes[t].1)
        .max_by_key(|&t| {
            let have = partial.teams[t].len() as i64;
            let (min, max) = sizes[t];
            // Under the minimum first; then most open slots; then the earliest team.
            (have < min, max - have, std::cmp::Reverse(t))
        })
}

/// Balanced strategy: redistributes the match's tickets over its teams so that the teams'
/// totals of the balanced attribute are as even as a greedy pass makes them.
fn balance(rule_set: &RuleSet, partial: &mut Partial<'_>) {
    let Some(attribute) = rule_set.algorithm.balanced_attribute.as_deref() else {
        return;
    };
    if !rule_set
        .attributes
        .iter()
        .any(|a| a.name == attribute && a.kind == AttrType::Number)
    {
        return;
    }
    let sizes: Vec<i64> = partial.teams.iter().map(|t| t.len() as i64).collect();
    let mut tickets = partial.tickets.clone();
    let value = |t: usize| -> f64 {
        partial.pool[t]
            .players
            .iter()
            .filter_map(|p| match p.attributes.get(attribute) {
                Some(Attr::Num(n)) => Some(*n),
                _ => None,
            })
            .sum()
    };
    tickets.sort_by(|a, b| {
        value(*b)
            .partial_cmp(&value(*a))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut teams: Vec<Vec<(usize, usize)>> = vec![Vec::new(); partial.teams.len()];
    let mut totals = vec![0.0; teams.len()];
    for ticket in tickets {
        let party = partial.pool[ticket].players.len() as i64;
        let Some(team) = (0..teams.len())
            .filter(|&t| teams[t].len() as i64 + party <= sizes[t])
            .min_by(|&a, &b| {
                totals[a]
                    .partial_cmp(&totals[b])
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        else {
            return;
        };
        totals[team] += value(ticket);
        for p in 0..partial.pool[ticket].players.len() {
            teams[team].push((ticket, p));
        }
    }
    partial.teams = teams;
}

#[cfg(test)]
mod tests {
    use super::super::rules;
    use super::*;

    fn player(id: &str, skill: f64) -> MatchPlayer {
        MatchPlayer {
            id: id.into(),
            attributes: [("skill".to_string(), Attr::Num(skill))].into(),
            latency: vec![("us-west-2".into(), 40.0), ("us-east-1".into(), 90.0)],
            team: None,
        }
    }

    fn ticket(id: &str, start: u64, players: Vec<MatchPlayer>) -> PoolTicket {
        PoolTicket {
            id: id.into(),
            players: Arc::new(players),
            start_millis: start,
            backfill: false,
            eligible: true,
        }
    }

    fn solo(n: usize, skill: f64) -> PoolTicket {
        ticket(
            &format!("t{n}"),
            n as u64,
            vec![player(&format!("p{n}"), skill)],
        )
    }

    fn levels(body: &str) -> Levels {
        Levels::new(&rules::parse(body).unwrap())
    }

    const TEAMS: &str = r#""teams": [{"name": "red", "minPlayers": 2, "maxPlayers": 2}, {"name": "blue", "minPlayers": 2, "maxPlayers": 2}]"#;
    const SKILL: &str =
        r#""playerAttributes": [{"name": "skill", "type": "number", "default": 10}]"#;

    fn body(rules: &str, expansions: &str) -> String {
        format!(
            r#"{{"ruleLanguageVersion": "1.0", {SKILL}, {TEAMS}, "rules": [{rules}], "expansions": [{expansions}]}}"#
        )
    }

    fn matched(levels: &Levels, pool: &[PoolTicket], now: u64) -> Vec<Vec<String>> {
        find_matches(levels, pool, now, 0)
            .into_iter()
            .map(|p| {
                let mut ids: Vec<String> = p.tickets.iter().map(|t| pool[*t].id.clone()).collect();
                ids.sort();
                ids
            })
            .collect()
    }

    #[test]
    fn distance_keeps_far_players_apart_until_an_expansion_relaxes_it() {
        let levels = levels(&body(
            r#"{"name": "close", "type": "distance", "measurements": ["flatten(teams[*].players.attributes[skill])"], "referenceValue": "avg(flatten(teams[*].players.attributes[skill]))", "maxDistance": 10}"#,
            r#"{"target": "rules[close].maxDistance", "steps": [{"waitTimeSeconds": 30, "value": 1000}]}"#,
        ));
        let pool: Vec<PoolTicket> = vec![
            solo(0, 10.0),
            solo(1, 500.0),
            solo(2, 12.0),
            solo(3, 14.0),
            solo(4, 11.0),
        ];
        assert_eq!(
            matched(&levels, &pool, 1000),
            vec![vec!["t0", "t2", "t3", "t4"]]
        );
        // Alone with three far players: nothing at first, a match after 30 s.
        let far = vec![
            solo(0, 10.0),
            solo(1, 500.0),
            solo(2, 900.0),
            solo(3, 300.0),
        ];
        assert!(matched(&levels, &far, 1000).is_empty());
        assert_eq!(matched(&levels, &far, 31_000).len(), 1);
    }

    #[test]
    fn comparison_with_and_without_reference() {
        let levels_ref = levels(&body(
            r#"{"name": "good", "type": "comparison", "measurements": ["flatten(teams[*].players.attributes[skill])"], "referenceValue": 50, "operation": ">="}"#,
            "",
        ));
        let pool = vec![
            solo(0, 60.0),
            solo(1, 10.0),
            solo(2, 70.0),
            solo(3, 80.0),
            solo(4, 90.0),
        ];
        assert_eq!(
            matched(&levels_ref, &pool, 0),
            vec![vec!["t0", "t2", "t3", "t4"]]
        );
        // Equal team sizes, judged on the complete match.
        let levels_eq = levels(&body(
            r#"{"name": "even", "type": "comparison", "measurements": ["count(teams[*].players)"], "operation": "="}"#,
            "",
        ));
        let pool: Vec<PoolTicket> = (0..4).map(|n| solo(n, 1.0)).collect();
        assert_eq!(matched(&levels_eq, &pool, 0).len(), 1);
    }

    #[test]
    fn collection_rules() {
        let body = r#"{"ruleLanguageVersion": "1.0",
            "playerAttributes": [{"name": "maps", "type": "string_list"}],
            "teams": [{"name": "all", "minPlayers": 2, "maxPlayers": 2}],
            "rules": [{"name": "shared", "type": "collection", "operation": "intersection", "measurements": ["flatten(teams[*].players.attributes[maps])"], "minCount": 1}]}"#;
        let levels = levels(body);
        let with_maps = |n: usize, maps: &[&str]| {
            let mut t = solo(n, 0.0);
            let mut p = (*t.players)[0].clone();
            p.attributes = [(
                "maps".to_string(),
                Attr::StrList(maps.iter().map(|s| s.to_string()).collect()),
            )]
            .into();
            t.players = Arc::new(vec![p]);
            t
        };
        let pool = vec![
            with_maps(0, &["a", "b"]),
            with_maps(1, &["c"]),
            with_maps(2, &["b"]),
        ];
        assert_eq!(matched(&levels, &pool, 0), vec![vec!["t0", "t2"]]);
    }

    #[test]
    fn latency_picks_a_region_every_player_reaches() {
        let levels = levels(&body(
            r#"{"name": "fast", "type": "latency", "maxLatency": 50}"#,
            "",
        ));
        let mut slow = solo(1, 1.0);
        let mut p = (*slow.players)[0].clone();
        p.latency = vec![("us-west-2".into(), 200.0)];
        slow.players = Arc::new(vec![p]);
        let pool = vec![solo(0, 1.0), slow, solo(2, 1.0), solo(3, 1.0), solo(4, 1.0)];
        let proposals = find_matches(&levels, &pool, 0, 0);
        assert_eq!(proposals.len(), 1);
        assert!(!proposals[0].tickets.contains(&1));
        assert_eq!(proposals[0].region.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn sorts_batches_and_compounds() {
        // distanceSort takes the players nearest the anchor first.
        let levels_sort = levels(&body(
            r#"{"name": "near", "type": "distanceSort", "sortAttribute": "skill"}"#,
            "",
        ));
        let pool = vec![
            solo(0, 50.0),
            solo(1, 0.0),
            solo(2, 51.0),
            solo(3, 100.0),
            solo(4, 49.0),
            solo(5, 52.0),
        ];
        assert_eq!(
            matched(&levels_sort, &pool, 0)[0],
            vec!["t0", "t2", "t4", "t5"]
        );
        // absoluteSort descending takes the highest first.
        let levels_abs = levels(&body(
            r#"{"name": "top", "type": "absoluteSort", "sortAttribute": "skill", "sortDirection": "descending"}"#,
            "",
        ));
        assert_eq!(
            matched(&levels_abs, &pool, 0)[0],
            vec!["t0", "t2", "t3", "t5"]
        );
        // batchDistance: everyone within 5 of each other.
        let levels_batch = levels(&body(
            r#"{"name": "band", "type": "batchDistance", "batchAttribute": "skill", "maxDistance": 5}"#,
            "",
        ));
        assert_eq!(
            matched(&levels_batch, &pool, 0)[0],
            vec!["t0", "t2", "t4", "t5"]
        );
        // compound: or() lets either rule hold.
        let levels_compound = levels(&body(
            r#"{"name": "low", "type": "comparison", "measurements": ["flatten(teams[*].players.attributes[skill])"], "referenceValue": 10, "operation": "<"},
               {"name": "high", "type": "comparison", "measurements": ["flatten(teams[*].players.attributes[skill])"], "referenceValue": 90, "operation": ">"},
               {"name": "either", "type": "compound", "statement": "or(low, high)"}"#,
            "",
        ));
        let pool = vec![
            solo(0, 1.0),
            solo(1, 50.0),
            solo(2, 2.0),
            solo(3, 3.0),
            solo(4, 4.0),
            solo(5, 95.0),
            solo(6, 96.0),
            solo(7, 97.0),
            solo(8, 98.0),
        ];
        assert_eq!(
            matched(&levels_compound, &pool, 0),
            vec![vec!["t0", "t2", "t3", "t4"], vec!["t5", "t6", "t7", "t8"]]
        );
    }

    #[test]
    fn parties_stay_together_and_team_sizes_expand() {
        let body = format!(
            r#"{{"ruleLanguageVersion": "1.0", {SKILL}, {TEAMS}, "expansions": [{{"target": "teams[red,blue].minPlayers", "steps": [{{"waitTimeSeconds": 10, "value": 1}}]}}]}}"#
        );
        let levels = levels(&body);
        let party = ticket("duo", 0, vec![player("a", 1.0), player("b", 1.0)]);
        let proposals = find_matches(&levels, &[party.clone(), solo(1, 1.0)], 0, 0);
        assert!(proposals.is_empty(), "two teams of two need four players");
        let proposals = find_matches(&levels, &[party, solo(1, 1.0)], 11_000, 0);
        assert_eq!(proposals.len(), 1);
        let red = &proposals[0].teams[0].1;
        assert_eq!(
            red.len(),
            2,
            "the party is on one team: {:?}",
            proposals[0].teams
        );
    }

    #[test]
    fn a_backfill_ticket_fills_the_open_slot_of_its_team() {
        let levels = levels(&body("", ""));
        let mut current = Vec::new();
        for (id, team) in [("a", "red"), ("b", "red"), ("c", "blue")] {
            let mut p = player(id, 1.0);
            p.team = Some(team.into());
            current.push(p);
        }
        let backfill = PoolTicket {
            id: "bf".into(),
            players: Arc::new(current),
            start_millis: 0,
            backfill: true,
            eligible: true,
        };
        let proposals = find_matches(&levels, &[backfill, solo(1, 1.0), solo(2, 1.0)], 0, 0);
        assert_eq!(proposals.len(), 1);
        assert_eq!(proposals[0].tickets, vec![0, 1]);
        assert_eq!(proposals[0].teams[1].1, vec![(0, 2), (1, 0)]);
    }

    #[test]
    fn quantity_teams_are_named_and_balanced_matches_even_out_skill() {
        // Two generated teams of 21 (a large match): balanced on skill.
        let levels = levels(
            r#"{"ruleLanguageVersion": "1.0",
                "playerAttributes": [{"name": "skill", "type": "number"}],
                "algorithm": {"strategy": "balanced", "balancedAttribute": "skill"},
                "teams": [{"name": "side", "minPlayers": 21, "maxPlayers": 21, "quantity": 2}],
                "rules": [{"name": "fast", "type": "latency", "maxLatency": 100}]}"#,
        );
        let pool: Vec<PoolTicket> = (0..42).map(|n| solo(n, n as f64)).collect();
        let proposals = find_matches(&levels, &pool, 0, 0);
        assert_eq!(proposals.len(), 1);
        let teams = &proposals[0].teams;
        assert_eq!(
            teams
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>(),
            ["side_1", "side_2"]
        );
        let total = |players: &Vec<(usize, usize)>| -> f64 {
            players
                .iter()
                .map(|(t, _)| pool[*t].players[0].attributes["skill"].number())
                .sum()
        };
        let (a, b) = (total(&teams[0].1), total(&teams[1].1));
        assert!((a - b).abs() <= 41.0, "balanced teams: {a} against {b}");
        assert_eq!(teams[0].1.len(), 21);
    }

    #[test]
    fn party_aggregation_judges_a_party_by_its_average() {
        // Each value within 10 of 50: a party of 35 and 65 passes on its average (50), fails
        // player by player.
        let rule = |party: &str| {
            body(
                &format!(
                    r#"{{"name": "near", "type": "comparison", "measurements": ["flatten(teams[*].players.attributes[skill])"], "referenceValue": 40, "operation": ">=" {party}}}"#
                ),
                "",
            )
        };
        let party = ticket("duo", 0, vec![player("a", 35.0), player("b", 65.0)]);
        let pool = vec![party, solo(1, 50.0), solo(2, 50.0)];
        assert!(find_matches(&levels(&rule("")), &pool, 0, 0).is_empty());
        assert_eq!(
            find_matches(
                &levels(&rule(r#", "partyAggregation": "avg""#)),
                &pool,
                0,
                0
            )
            .len(),
            1
        );
    }
}
