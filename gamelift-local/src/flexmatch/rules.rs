//! The FlexMatch rule set language, version 1.0: reading a rule set body into a model the
//! matchmaker runs, refusing (with the path of the bad element) anything it cannot run.

use serde_json::{Map, Value as Json};

use super::expr::{Expr, Function};

/// The largest match (sum of maxPlayers times quantity over the teams).
pub const MAX_MATCH_PLAYERS: i64 = 200;
/// Above this many players a match is large: balanced strategy, fewer rule types.
pub const LARGE_MATCH: i64 = 40;

/// An attribute type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Number,
    StringList,
    StringNumberMap,
}

impl AttrType {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => AttrType::String,
            "number" => AttrType::Number,
            "string_list" => AttrType::StringList,
            "string_number_map" => AttrType::StringNumberMap,
            _ => return None,
        })
    }

    /// The rule-set name of the type.
    pub fn name(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Number => "number",
            AttrType::StringList => "string_list",
            AttrType::StringNumberMap => "string_number_map",
        }
    }
}

/// A declared player attribute.
#[derive(Debug, Clone)]
pub struct PlayerAttribute {
    pub name: String,
    pub kind: AttrType,
    pub default: Option<super::expr::Attr>,
}

/// A team definition.
#[derive(Debug, Clone)]
pub struct TeamDef {
    pub name: String,
    pub min_players: i64,
    pub max_players: i64,
    pub quantity: i64,
}

/// `algorithm.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Exhaustive,
    Balanced,
}

/// `algorithm.batchingPreference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    Random,
    Sorted,
    LargestPopulation,
    FastestRegion,
}

/// `algorithm.backfillPriority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackfillPriority {
    Normal,
    High,
    Low,
}

/// The algorithm block.
#[derive(Debug, Clone)]
pub struct Algorithm {
    pub strategy: Strategy,
    pub balanced_attribute: Option<String>,
    pub batching: Batching,
    pub sort_by_attributes: Vec<String>,
    pub backfill_priority: BackfillPriority,
    /// `expansionAgeSelection`: true for `oldest`.
    pub age_from_oldest: bool,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Lt,
    Le,
    Eq,
    Ne,
    Gt,
    Ge,
}

/// A collection rule's operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionOp {
    Intersection,
    Contains,
    ReferenceIntersectionCount,
}

/// A reference value: a literal or an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    Number(f64),
    Text(String),
    List(Vec<String>),
    Expr(Expr),
}

/// A compound statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Rule(String),
    And(Vec<Statement>),
    Or(Vec<Statement>),
    Xor(Vec<Statement>),
    Not(Box<Statement>),
}

/// What a rule checks.
#[derive(Debug, Clone)]
pub enum RuleKind {
    Comparison {
        measurements: Vec<Expr>,
        reference: Option<Reference>,
        operation: Operation,
        party: Option<Function>,
    },
    Distance {
        measurements: Vec<Expr>,
        reference: Reference,
        min_distance: Option<f64>,
        max_distance: Option<f64>,
        party: Option<Function>,
    },
    BatchDistance {
        attribute: String,
        max_distance: Option<f64>,
        party: Function,
    },
    Collection {
        measurements: Vec<Expr>,
        reference: Option<Reference>,
        operation: CollectionOp,
        min_count: Option<f64>,
        max_count: Option<f64>,
    },
    Latency {
        max_latency: Option<f64>,
        max_distance: Option<f64>,
        reference_is_avg: bool,
    },
    AbsoluteSort {
        attribute: String,
        descending: bool,
        map_key_max: bool,
    },
    DistanceSort {
        attribute: String,
        descending: bool,
        map_key_max: bool,
    },
    Compound(Statement),
}

/// A rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub kind: RuleKind,
}

/// What an expansion relaxes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpansionTarget {
    /// `rules[name].property`.
    Rule(String, String),
    /// `teams[a,b].minPlayers` / `.maxPlayers` (true for min).
    Teams(Vec<String>, bool),
}

/// An expansion step: after `wait_seconds`, the target takes `value`.
#[derive(Debug, Clone)]
pub struct Step {
    pub wait_seconds: f64,
    pub value: Json,
}

/// An expansion.
#[derive(Debug, Clone)]
pub struct Expansion {
    pub target: ExpansionTarget,
    pub steps: Vec<Step>,
}

/// A rule set the matchmaker can run.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub attributes: Vec<PlayerAttribute>,
    pub algorithm: Algorithm,
    pub teams: Vec<TeamDef>,
    pub rules: Vec<Rule>,
    pub expansions: Vec<Expansion>,
}

impl RuleSet {
    /// The most players a match holds.
    pub fn match_size(&self) -> i64 {
        self.teams
            .iter()
            .map(|t| t.max_players.saturating_mul(t.quantity))
            .fold(0i64, i64::saturating_add)
    }

    /// The declared attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&PlayerAttribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The longest expansion wait, in seconds.
    pub fn longest_wait(&self) -> f64 {
        self.expansions
            .iter()
            .flat_map(|e| e.steps.iter().map(|s| s.wait_seconds))
            .fold(0.0, f64::max)
    }
}

/// Everything wrong with a rule set body, each naming the path of the bad element.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSetErrors(pub Vec<String>);

impl std::fmt::Display for RuleSetErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<&str> = self.0.iter().take(10).map(String::as_str).collect();
        write!(f, "{}", shown.join("; "))?;
        if self.0.len() > 10 {
            write!(f, "; and {} more", self.0.len() - 10)?;
        }
        Ok(())
    }
}

struct Reader {
    errors: Vec<String>,
}

impl Reader {
    fn error(&mut self, path: &str, message: impl std::fmt::Display) {
        if self.errors.len() <= 10 {
            self.errors.push(format!("{path}: {message}"));
        }
    }

    fn object<'j>(&mut self, value: &'j Json, path: &str) -> Option<&'j Map<String, Json>> {
        match value {
            Json::Object(map) => Some(map),
            _ => {
                self.error(path, "must be an object");
                None
            }
        }
    }

    fn known(&mut self, map: &Map<String, Json>, path: &str, allowed: &[&str]) {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.error(
                    &format!("{path}.{key}"),
                    format!("unknown property (allowed here: {})", allowed.join(", ")),
                );
            }
        }
    }

    fn string(
        &mut self,
        map: &Map<String, Json>,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<String> {
        match map.get(key) {
            None | Some(Json::Null) => {
                if required {
                    self.error(&format!("{path}.{key}"), "is required");
                }
                None
            }
            Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => {
                self.error(&format!("{path}.{key}"), "must be a non-empty string");
                None
            }
        }
    }

    /// A number; the documentation's examples also write numbers as strings ("500").
    fn number(
        &mut self,
        map: &Map<String, Json>,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<f64> {
        match map.get(key) {
            None | Some(Json::Null) => {
                if required {
                    self.error(&format!("{path}.{key}"), "is required");
                }
                None
            }
            Some(value) => match number_of(value) {
                Some(n) => Some(n),
                None => {
                    self.error(&format!("{path}.{key}"), "must be a number");
                    None
                }
            },
        }
    }

    fn integer(
        &mut self,
        map: &Map<String, Json>,
        key: &str,
        path: &str,
        required: bool,
        min: i64,
    ) -> Option<i64> {
        let n = self.number(map, key, path, required)?;
        if n.fract() != 0.0 || n < min as f64 || n > 1_000_000.0 {
            self.error(
                &format!("{path}.{key}"),
                format!("must be a whole number of at least {min}"),
            );
            return None;
        }
        Some(n as i64)
    }
}

fn number_of(value: &Json) -> Option<f64> {
    match value {
        Json::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Json::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Reads a rule set body.
pub fn parse(body: &str) -> Result<RuleSet, RuleSetErrors> {
    let json: Json = serde_json::from_str(body).map_err(|error| {
        RuleSetErrors(vec![format!(
            "RuleSetBody is not valid JSON: {error} (comments are not allowed)"
        )])
    })?;
    let mut reader = Reader { errors: Vec::new() };
    let rule_set = read(&mut reader, &json);
    match rule_set {
        Some(rule_set) if reader.errors.is_empty() => Ok(rule_set),
        _ => {
            if reader.errors.is_empty() {
                reader.errors.push("RuleSetBody: cannot be read".into());
            }
            Err(RuleSetErrors(reader.errors))
        }
    }
}

fn read(reader: &mut Reader, json: &Json) -> Option<RuleSet> {
    let root = reader.object(json, "$")?;
    reader.known(
        root,
        "$",
        &[
            "name",
            "description",
            "ruleLanguageVersion",
            "playerAttributes",
            "algorithm",
            "teams",
            "rules",
            "expansions",
        ],
    );
    match root.get("ruleLanguageVersion") {
        Some(Json::String(v)) if v == "1.0" => {}
        None => reader.error("$.ruleLanguageVersion", "is required (\"1.0\")"),
        Some(other) => reader.error(
            "$.ruleLanguageVersion",
            format!("must be \"1.0\", not {other}"),
        ),
    }
    // The body's own name is a label only.
    let _ = reader.string(root, "name", "$", false);

    // Player attributes.
    let mut attributes: Vec<PlayerAttribute> = Vec::new();
    if let Some(list) = list(reader, root, "playerAttributes", "$") {
        for (i, item) in list.iter().enumerate() {
            let path = format!("$.playerAttributes[{i}]");
            let Some(map) = reader.object(item, &path) else {
                continue;
            };
            reader.known(map, &path, &["name", "type", "default", "description"]);
            let name = reader.string(map, "name", &path, true);
            let kind = match reader.string(map, "type", &path, true) {
                Some(t) => {
                    match AttrType::parse(&t) {
                        Some(kind) => Some(kind),
                        None => {
                            reader.error(&format!("{path}.type"), format!("'{t}' is not one of string, number, string_list, string_number_map"));
                            None
                        }
                    }
                }
                None => None,
            };
            let (Some(name), Some(kind)) = (name, kind) else {
                continue;
            };
            if attributes.iter().any(|a| a.name == name) {
                reader.error(
                    &format!("{path}.name"),
                    format!("attribute '{name}' is declared twice"),
                );
                continue;
            }
            let default = match map.get("default") {
                None | Some(Json::Null) => None,
                Some(value) => match attr_of(kind, value) {
                    Some(attr) => Some(attr),
                    None => {
                        reader.error(
                            &format!("{path}.default"),
                            format!("must be a {} value", kind.name()),
                        );
                        None
                    }
                },
            };
            attributes.push(PlayerAttribute {
                name,
                kind,
                default,
            });
        }
    }

    // Teams.
    let mut teams: Vec<TeamDef> = Vec::new();
    match list(reader, root, "teams", "$") {
        None => reader.error("$.teams", "is required: at least one team"),
        Some(list) if list.is_empty() => reader.error("$.teams", "needs at least one team"),
        Some(list) => {
            for (i, item) in list.iter().enumerate() {
                let path = format!("$.teams[{i}]");
                let Some(map) = reader.object(item, &path) else {
                    continue;
                };
                reader.known(
                    map,
                    &path,
                    &[
                        "name",
                        "minPlayers",
                        "maxPlayers",
                        "quantity",
                        "description",
                    ],
                );
                let name = reader.string(map, "name", &path, true);
                let min = reader.integer(map, "minPlayers", &path, true, 0);
                let max = reader.integer(map, "maxPlayers", &path, true, 1);
                let quantity = if map.contains_key("quantity") {
                    reader.integer(map, "quantity", &path, false, 1)
                } else {
                    Some(1)
                };
                let (Some(name), Some(min), Some(max), Some(quantity)) = (name, min, max, quantity)
                else {
                    continue;
                };
                if !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    reader.error(
                        &format!("{path}.name"),
                        format!("'{name}' may hold only letters, digits, '_' and '-'"),
                    );
                }
                if teams.iter().any(|t| t.name == name) {
                    reader.error(
                        &format!("{path}.name"),
                        format!("team '{name}' is defined twice"),
                    );
                }
                if min > max {
                    reader.error(
                        &format!("{path}.minPlayers"),
                        format!("{min} is more than maxPlayers {max}"),
                    );
                }
                teams.push(TeamDef {
                    name,
                    min_players: min,
                    max_players: max,
                    quantity,
                });
            }
        }
    }
    let size: i64 = teams
        .iter()
        .map(|t| t.max_players.saturating_mul(t.quantity))
        .sum();
    if size > MAX_MATCH_PLAYERS {
        reader.error(
            "$.teams",
            format!("a match would hold {size} players; at most {MAX_MATCH_PLAYERS}"),
        );
    }
    let large = size > LARGE_MATCH;

    // Algorithm.
    let algorithm = read_algorithm(reader, root, &attributes, large);

    // Rules.
    let mut rules: Vec<Rule> = Vec::new();
    if let Some(list) = list(reader, root, "rules", "$") {
        for (i, item) in list.iter().enumerate() {
            let path = format!("$.rules[{i}]");
            if let Some(rule) = read_rule(reader, item, &path, &attributes, &teams, &rules, large) {
                if rules.iter().any(|r| r.name == rule.name) {
                    reader.error(
                        &format!("{path}.name"),
                        format!("rule '{}' is defined twice", rule.name),
                    );
                    continue;
                }
                rules.push(rule);
            }
        }
    }

    // Expansions.
    let mut expansions = Vec::new();
    if let Some(list) = list(reader, root, "expansions", "$") {
        for (i, item) in list.iter().enumerate() {
            let path = format!("$.expansions[{i}]");
            if let Some(expansion) = read_expansion(reader, item, &path, &rules, &teams) {
                expansions.push(expansion);
            }
        }
    }

    Some(RuleSet {
        attributes,
        algorithm,
        teams,
        rules,
        expansions,
    })
}

fn list<'j>(
    reader: &mut Reader,
    map: &'j Map<String, Json>,
    key: &str,
    path: &str,
) -> Option<&'j Vec<Json>> {
    match map.get(key) {
        None | Some(Json::Null) => None,
        Some(Json::Array(items)) => {
            if items.len() > 1000 {
                reader.error(&format!("{path}.{key}"), "has more than 1000 elements");
                return None;
            }
            Some(items)
        }
        Some(_) => {
            reader.error(&format!("{path}.{key}"), "must be a list");
            None
        }
    }
}

/// An attribute value of `kind` from a rule set default or a literal.
pub fn attr_of(kind: AttrType, value: &Json) -> Option<super::expr::Attr> {
    use super::expr::Attr;
    Some(match kind {
        AttrType::String => Attr::Str(value.as_str()?.to_string()),
        AttrType::Number => Attr::Num(number_of(value)?),
        AttrType::StringList => Attr::StrList(
            value
                .as_array()?
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()?,
        ),
        AttrType::StringNumberMap => Attr::NumMap(
            value
                .as_object()?
                .iter()
                .map(|(k, v)| number_of(v).map(|n| (k.clone(), n)))
                .collect::<Option<_>>()?,
        ),
    })
}

fn read_algorithm(
    reader: &mut Reader,
    root: &Map<String, Json>,
    attributes: &[PlayerAttribute],
    large: bool,
) -> Algorithm {
    let mut algorithm = Algorithm {
        strategy: Strategy::Exhaustive,
        balanced_attribute: None,
        batching: Batching::Random,
        sort_by_attributes: Vec::new(),
        backfill_priority: BackfillPriority::Normal,
        age_from_oldest: false,
    };
    let path = "$.algorithm";
    let map = match root.get("algorithm") {
        None | Some(Json::Null) => None,
        Some(value) => reader.object(value, path),
    };
    if let Some(map) = map {
        reader.known(
            map,
            path,
            &[
                "strategy",
                "balancedAttribute",
                "batchingPreference",
                "sortByAttributes",
                "backfillPriority",
                "expansionAgeSelection",
            ],
        );
        if let Some(strategy) = reader.string(map, "strategy", path, false) {
            match strategy.as_str() {
                "exhaustiveSearch" => {}
                "balanced" => algorithm.strategy = Strategy::Balanced,
                other => reader.error(
                    &format!("{path}.strategy"),
                    format!("'{other}' is not exhaustiveSearch or balanced"),
                ),
            }
        }
        algorithm.batching = if algorithm.strategy == Strategy::Balanced {
            Batching::LargestPopulation
        } else {
            Batching::Random
        };
        if let Some(batching) = reader.string(map, "batchingPreference", path, false) {
            algorithm.batching = match (batching.as_str(), algorithm.strategy) {
                ("random", Strategy::Exhaustive) => Batching::Random,
                ("sorted", Strategy::Exhaustive) => Batching::Sorted,
                ("largestPopulation", Strategy::Balanced) => Batching::LargestPopulation,
                ("fastestRegion", Strategy::Balanced) => Batching::FastestRegion,
                (other, strategy) => {
                    reader.error(&format!("{path}.batchingPreference"), format!("'{other}' is not allowed with the {} strategy (exhaustiveSearch: random, sorted; balanced: largestPopulation, fastestRegion)", if strategy == Strategy::Balanced { "balanced" } else { "exhaustiveSearch" }));
                    algorithm.batching
                }
            };
        }
        if let Some(names) = list(reader, map, "sortByAttributes", path) {
            for (i, name) in names.iter().enumerate() {
                match name.as_str() {
                    Some(name) if attributes.iter().any(|a| a.name == name) => {
                        algorithm.sort_by_attributes.push(name.to_string())
                    }
                    Some(name) => reader.error(
                        &format!("{path}.sortByAttributes[{i}]"),
                        format!("'{name}' is not a declared player attribute"),
                    ),
                    None => {
                        reader.error(&format!("{path}.sortByAttributes[{i}]"), "must be a string")
                    }
                }
            }
        }
        if algorithm.batching == Batching::Sorted && algorithm.sort_by_attributes.is_empty() {
            reader.error(
                &format!("{path}.sortByAttributes"),
                "is required when batchingPreference is sorted",
            );
        }
        if let Some(attribute) = reader.string(map, "balancedAttribute", path, false) {
            match attributes.iter().find(|a| a.name == attribute) {
                Some(a) if a.kind == AttrType::Number => {
                    algorithm.balanced_attribute = Some(attribute)
                }
                Some(_) => reader.error(
                    &format!("{path}.balancedAttribute"),
                    format!("'{attribute}' must be a number attribute"),
                ),
                None => reader.error(
                    &format!("{path}.balancedAttribute"),
                    format!("'{attribute}' is not a declared player attribute"),
                ),
            }
        }
        if algorithm.strategy == Strategy::Balanced
            && algorithm.balanced_attribute.is_none()
            && !map.contains_key("balancedAttribute")
        {
            reader.error(
                &format!("{path}.balancedAttribute"),
                "is required with the balanced strategy",
            );
        }
        if let Some(priority) = reader.string(map, "backfillPriority", path, false) {
            algorithm.backfill_priority = match priority.as_str() {
                "normal" => BackfillPriority::Normal,
                "high" => BackfillPriority::High,
                "low" => BackfillPriority::Low,
                other => {
                    reader.error(
                        &format!("{path}.backfillPriority"),
                        format!("'{other}' is not normal, high or low"),
                    );
                    BackfillPriority::Normal
                }
            };
        }
        if let Some(age) = reader.string(map, "expansionAgeSelection", path, false) {
            match age.as_str() {
                "newest" => {}
                "oldest" => algorithm.age_from_oldest = true,
                other => reader.error(
                    &format!("{path}.expansionAgeSelection"),
                    format!("'{other}' is not newest or oldest"),
                ),
            }
        }
    }
    if large && algorithm.strategy != Strategy::Balanced {
        reader.error(
            "$.algorithm.strategy",
            format!("matches of more than {LARGE_MATCH} players need the balanced strategy"),
        );
    }
    algorithm
}

fn expressions(
    reader: &mut Reader,
    map: &Map<String, Json>,
    key: &str,
    path: &str,
    attributes: &[PlayerAttribute],
    teams: &[TeamDef],
) -> Vec<Expr> {
    let texts: Vec<(String, &Json)> = match map.get(key) {
        None | Some(Json::Null) => {
            reader.error(&format!("{path}.{key}"), "is required");
            return Vec::new();
        }
        Some(Json::String(_)) => vec![(format!("{path}.{key}"), &map[key])],
        Some(Json::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{path}.{key}[{i}]"), item))
            .collect(),
        Some(_) => {
            reader.error(
                &format!("{path}.{key}"),
                "must be an expression or a non-empty list of expressions",
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (path, item) in texts {
        let Some(text) = item.as_str() else {
            reader.error(&path, "must be an expression string");
            continue;
        };
        if let Some(expr) = expression(reader, text, &path, attributes, teams) {
            out.push(expr);
        }
    }
    out
}

fn expression(
    reader: &mut Reader,
    text: &str,
    path: &str,
    attributes: &[PlayerAttribute],
    teams: &[TeamDef],
) -> Option<Expr> {
    let expr = match Expr::parse(text) {
        Ok(expr) => expr,
        Err(error) => {
            reader.error(path, error);
            return None;
        }
    };
    let mut ok = true;
    for attribute in expr.attributes() {
        if !attributes.iter().any(|a| a.name == attribute) {
            reader.error(
                path,
                format!("'{attribute}' is not a declared player attribute"),
            );
            ok = false;
        }
    }
    for team in expr.team_names() {
        if !team_exists(teams, team) {
            reader.error(path, format!("'{team}' is not a team of this rule set"));
            ok = false;
        }
    }
    ok.then_some(expr)
}

fn team_exists(teams: &[TeamDef], name: &str) -> bool {
    teams.iter().any(|t| {
        t.name == name
            || (t.quantity > 1
                && name
                    .strip_prefix(&format!("{}_", t.name))
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_some_and(|n| n >= 1 && n <= t.quantity))
    })
}

fn reference(
    reader: &mut Reader,
    map: &Map<String, Json>,
    path: &str,
    attributes: &[PlayerAttribute],
    teams: &[TeamDef],
) -> Option<Reference> {
    let path = format!("{path}.referenceValue");
    match map.get("referenceValue") {
        None | Some(Json::Null) => None,
        Some(Json::Number(n)) => n.as_f64().map(Reference::Number),
        Some(Json::String(text)) => {
            let looks_like_expression = text.contains('[') || text.contains('(');
            if looks_like_expression {
                expression(reader, text, &path, attributes, teams).map(Reference::Expr)
            } else if let Ok(n) = text.trim().parse::<f64>() {
                Some(Reference::Number(n))
            } else {
                Some(Reference::Text(text.clone()))
            }
        }
        Some(Json::Array(items)) => match items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
        {
            Some(list) => Some(Reference::List(list)),
            None => {
                reader.error(&path, "a list reference must hold strings");
                None
            }
        },
        Some(_) => {
            reader.error(
                &path,
                "must be a number, a string, a list of strings or an expression",
            );
            None
        }
    }
}

fn party(reader: &mut Reader, map: &Map<String, Json>, path: &str) -> Option<Function> {
    let value = reader.string(map, "partyAggregation", path, false)?;
    match value.as_str() {
        "min" => Some(Function::Min),
        "max" => Some(Function::Max),
        "avg" => Some(Function::Avg),
        other => {
            reader.error(
                &format!("{path}.partyAggregation"),
                format!("'{other}' is not min, max or avg"),
            );
            None
        }
    }
}

fn sort_attribute(
    reader: &mut Reader,
    map: &Map<String, Json>,
    path: &str,
    attributes: &[PlayerAttribute],
) -> (String, bool, bool) {
    let attribute = reader
        .string(map, "sortAttribute", path, true)
        .unwrap_or_default();
    if !attribute.is_empty() {
        match attributes.iter().find(|a| a.name == attribute) {
            Some(a) if matches!(a.kind, AttrType::Number | AttrType::StringNumberMap) => {}
            Some(_) => reader.error(
                &format!("{path}.sortAttribute"),
                format!("'{attribute}' must be a number or string_number_map attribute"),
            ),
            None => reader.error(
                &format!("{path}.sortAttribute"),
                format!("'{attribute}' is not a declared player attribute"),
            ),
        }
    }
    let descending = match reader.string(map, "sortDirection", path, false).as_deref() {
        None | Some("ascending") => false,
        Some("descending") => true,
        Some(other) => {
            reader.error(
                &format!("{path}.sortDirection"),
                format!("'{other}' is not ascending or descending"),
            );
            false
        }
    };
    let map_key_max = match reader.string(map, "mapKey", path, false).as_deref() {
        None | Some("minValue") => false,
        Some("maxValue") => true,
        Some(other) => {
            reader.error(
                &format!("{path}.mapKey"),
                format!("'{other}' is not minValue or maxValue"),
            );
            false
        }
    };
    (attribute, descending, map_key_max)
}

#[allow(clippy::too_many_arguments)]
fn read_rule(
    reader: &mut Reader,
    item: &Json,
    path: &str,
    attributes: &[PlayerAttribute],
    teams: &[TeamDef],
    earlier: &[Rule],
    large: bool,
) -> Option<Rule> {
    let map = reader.object(item, path)?;
    let name = reader.string(map, "name", path, true);
    let kind_name = reader.string(map, "type", path, true)?;
    let common = ["name", "type", "description"];
    let allowed: &[&str] = match kind_name.as_str() {
        "comparison" => &[
            "measurements",
            "referenceValue",
            "operation",
            "partyAggregation",
        ],
        "distance" => &[
            "measurements",
            "referenceValue",
            "minDistance",
            "maxDistance",
            "partyAggregation",
        ],
        "batchDistance" => &["batchAttribute", "maxDistance", "partyAggregation"],
        "collection" => &[
            "measurements",
            "referenceValue",
            "operation",
            "minCount",
            "maxCount",
            "partyAggregation",
        ],
        "latency" => &[
            "maxLatency",
            "maxDistance",
            "distanceReference",
            "partyAggregation",
        ],
        "absoluteSort" | "distanceSort" => &[
            "sortDirection",
            "sortAttribute",
            "mapKey",
            "partyAggregation",
        ],
        "compound" => &["statement"],
        other => {
            reader.error(&format!("{path}.type"), format!("'{other}' is not a rule type (comparison, distance, batchDistance, collection, latency, absoluteSort, distanceSort, compound)"));
            return None;
        }
    };
    let all: Vec<&str> = common.iter().chain(allowed.iter()).copied().collect();
    reader.known(map, path, &all);
    if large && !matches!(kind_name.as_str(), "latency" | "batchDistance") {
        reader.error(&format!("{path}.type"), format!("'{kind_name}' rules cannot be used in matches of more than {LARGE_MATCH} players (only latency and batchDistance)"));
    }
    let kind = match kind_name.as_str() {
        "comparison" => {
            let measurements = expressions(reader, map, "measurements", path, attributes, teams);
            let reference = reference(reader, map, path, attributes, teams);
            let operation = match reader.string(map, "operation", path, true).as_deref() {
                Some("<") => Operation::Lt,
                Some("<=") => Operation::Le,
                Some("=") => Operation::Eq,
                Some("!=") => Operation::Ne,
                Some(">") => Operation::Gt,
                Some(">=") => Operation::Ge,
                Some(other) => {
                    reader.error(
                        &format!("{path}.operation"),
                        format!("'{other}' is not one of <, <=, =, !=, >, >="),
                    );
                    Operation::Eq
                }
                None => Operation::Eq,
            };
            if reference.is_none() && !matches!(operation, Operation::Eq | Operation::Ne) {
                reader.error(
                    &format!("{path}.operation"),
                    "without a referenceValue only = and != are allowed",
                );
            }
            RuleKind::Comparison {
                measurements,
                reference,
                operation,
                party: party(reader, map, path),
            }
        }
        "distance" => {
            let measurements = expressions(reader, map, "measurements", path, attributes, teams);
            let reference = reference(reader, map, path, attributes, teams);
            let min_distance = reader.number(map, "minDistance", path, false);
            let max_distance = reader.number(map, "maxDistance", path, false);
            if min_distance.is_none() && max_distance.is_none() {
                reader.error(path, "a distance rule needs minDistance or maxDistance");
            }
            let reference = reference.unwrap_or_else(|| {
                reader.error(&format!("{path}.referenceValue"), "is required");
                Reference::Number(0.0)
            });
            if matches!(reference, Reference::Text(_) | Reference::List(_)) {
                reader.error(
                    &format!("{path}.referenceValue"),
                    "must be a number or an expression",
                );
            }
            RuleKind::Distance {
                measurements,
                reference,
                min_distance,
                max_distance,
                party: party(reader, map, path),
            }
        }
        "batchDistance" => {
            let attribute = reader
                .string(map, "batchAttribute", path, true)
                .unwrap_or_default();
            let max_distance = reader.number(map, "maxDistance", path, false);
            match attributes.iter().find(|a| a.name == attribute) {
                Some(a) if a.kind == AttrType::Number && max_distance.is_none() => reader.error(
                    &format!("{path}.maxDistance"),
                    "is required for a number attribute",
                ),
                Some(a) if matches!(a.kind, AttrType::Number | AttrType::String) => {}
                Some(_) => reader.error(
                    &format!("{path}.batchAttribute"),
                    format!("'{attribute}' must be a number or string attribute"),
                ),
                None if attribute.is_empty() => {}
                None => reader.error(
                    &format!("{path}.batchAttribute"),
                    format!("'{attribute}' is not a declared player attribute"),
                ),
            }
            RuleKind::BatchDistance {
                attribute,
                max_distance,
                party: party(reader, map, path).unwrap_or(Function::Avg),
            }
        }
        "collection" => {
            let measurements = expressions(reader, map, "measurements", path, attributes, teams);
            let reference = reference(reader, map, path, attributes, teams);
            let operation = match reader.string(map, "operation", path, true).as_deref() {
                Some("intersection") => CollectionOp::Intersection,
                Some("contains") => CollectionOp::Contains,
                Some("reference_intersection_count") => CollectionOp::ReferenceIntersectionCount,
                Some(other) => {
                    reader.error(&format!("{path}.operation"), format!("'{other}' is not intersection, contains or reference_intersection_count"));
                    CollectionOp::Intersection
                }
                None => CollectionOp::Intersection,
            };
            if operation != CollectionOp::Intersection && reference.is_none() {
                reader.error(
                    &format!("{path}.referenceValue"),
                    "is required for this operation",
                );
            }
            let min_count = reader.number(map, "minCount", path, false);
            let max_count = reader.number(map, "maxCount", path, false);
            if min_count.is_none() && max_count.is_none() {
                reader.error(path, "a collection rule needs minCount or maxCount");
            }
            if let Some(value) = reader.string(map, "partyAggregation", path, false)
                && value != "union"
                && value != "intersection"
            {
                reader.error(
                    &format!("{path}.partyAggregation"),
                    format!("'{value}' is not union or intersection"),
                );
            }
            RuleKind::Collection {
                measurements,
                reference,
                operation,
                min_count,
                max_count,
            }
        }
        "latency" => {
            let max_latency = reader.number(map, "maxLatency", path, false);
            let max_distance = reader.number(map, "maxDistance", path, false);
            if max_latency.is_none() && max_distance.is_none() {
                reader.error(path, "a latency rule needs maxLatency or maxDistance");
            }
            let reference_is_avg = match reader
                .string(map, "distanceReference", path, false)
                .as_deref()
            {
                None | Some("min") => false,
                Some("avg") => true,
                Some(other) => {
                    reader.error(
                        &format!("{path}.distanceReference"),
                        format!("'{other}' is not min or avg"),
                    );
                    false
                }
            };
            let _ = party(reader, map, path);
            RuleKind::Latency {
                max_latency,
                max_distance,
                reference_is_avg,
            }
        }
        "absoluteSort" | "distanceSort" => {
            let (attribute, descending, map_key_max) =
                sort_attribute(reader, map, path, attributes);
            let _ = party(reader, map, path);
            if kind_name == "absoluteSort" {
                RuleKind::AbsoluteSort {
                    attribute,
                    descending,
                    map_key_max,
                }
            } else {
                RuleKind::DistanceSort {
                    attribute,
                    descending,
                    map_key_max,
                }
            }
        }
        _ => {
            let text = reader
                .string(map, "statement", path, true)
                .unwrap_or_default();
            if large {
                return None;
            }
            match parse_statement(&text) {
                Ok(statement) => {
                    for rule in statement_rules(&statement) {
                        match earlier.iter().find(|r| r.name == rule) {
                            None => reader.error(&format!("{path}.statement"), format!("'{rule}' is not a rule defined before this one")),
                            Some(Rule { kind: RuleKind::BatchDistance { .. }, .. }) => reader.error(&format!("{path}.statement"), format!("'{rule}' is a batchDistance rule, which a compound rule cannot use")),
                            Some(Rule { kind: RuleKind::AbsoluteSort { .. } | RuleKind::DistanceSort { .. }, .. }) => reader.error(&format!("{path}.statement"), format!("'{rule}' is a sort rule, which is not true or false")),
                            Some(_) => {}
                        }
                    }
                    RuleKind::Compound(statement)
                }
                Err(error) => {
                    reader.error(&format!("{path}.statement"), error);
                    return None;
                }
            }
        }
    };
    Some(Rule { name: name?, kind })
}

/// Parses a compound statement: `and(A, or(B, not(C)))`.
pub fn parse_statement(text: &str) -> Result<Statement, String> {
    fn statement(text: &str, at: &mut usize, depth: usize) -> Result<Statement, String> {
        if depth > 16 {
            return Err("the statement is nested too deeply".into());
        }
        let rest = &text[*at..];
        let trimmed = rest.trim_start();
        *at += rest.len() - trimmed.len();
        let len = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(trimmed.len());
        if len == 0 {
            return Err(format!(
                "expected a rule name or and/or/xor/not at position {}",
                *at
            ));
        }
        let word = trimmed[..len].to_string();
        *at += len;
        let rest = &text[*at..];
        let trimmed = rest.trim_start();
        if !trimmed.starts_with('(') {
            return Ok(Statement::Rule(word));
        }
        *at += rest.len() - trimmed.len() + 1;
        let mut args = Vec::new();
        loop {
            args.push(statement(text, at, depth + 1)?);
            let rest = &text[*at..];
            let trimmed = rest.trim_start();
            *at += rest.len() - trimmed.len();
            if let Some(after) = trimmed.strip_prefix(',') {
                let _ = after;
                *at += 1;
            } else if trimmed.starts_with(')') {
                *at += 1;
                break;
            } else {
                return Err(format!("expected ',' or ')' at position {}", *at));
            }
        }
        match word.as_str() {
            "and" if args.len() >= 2 => Ok(Statement::And(args)),
            "or" if args.len() >= 2 => Ok(Statement::Or(args)),
            "xor" if args.len() >= 2 => Ok(Statement::Xor(args)),
            "not" if args.len() == 1 => Ok(Statement::Not(Box::new(args.remove(0)))),
            "and" | "or" | "xor" => Err(format!("{word} needs at least two arguments")),
            "not" => Err("not takes exactly one argument".into()),
            other => Err(format!("'{other}' is not and, or, xor or not")),
        }
    }
    let mut at = 0;
    let parsed = statement(text, &mut at, 0)?;
    if !text[at..].trim().is_empty() {
        return Err(format!(
            "unexpected '{}' after the statement",
            text[at..].trim()
        ));
    }
    Ok(parsed)
}

fn statement_rules(statement: &Statement) -> Vec<&str> {
    match statement {
        Statement::Rule(name) => vec![name.as_str()],
        Statement::And(items) | Statement::Or(items) | Statement::Xor(items) => {
            items.iter().flat_map(statement_rules).collect()
        }
        Statement::Not(inner) => statement_rules(inner),
    }
}

/// The properties of each rule type an expansion may relax, and the kind of value each takes.
fn expandable(kind: &RuleKind, property: &str) -> Option<&'static str> {
    Some(match (kind, property) {
        (RuleKind::Comparison { .. }, "referenceValue") => "number or string",
        (RuleKind::Distance { .. }, "minDistance" | "maxDistance" | "referenceValue") => "number",
        (RuleKind::BatchDistance { .. }, "maxDistance") => "number",
        (RuleKind::Collection { .. }, "minCount" | "maxCount") => "number",
        (RuleKind::Collection { .. }, "referenceValue") => "string or list",
        (RuleKind::Latency { .. }, "maxLatency" | "maxDistance") => "number",
        _ => return None,
    })
}

fn read_expansion(
    reader: &mut Reader,
    item: &Json,
    path: &str,
    rules: &[Rule],
    teams: &[TeamDef],
) -> Option<Expansion> {
    let map = reader.object(item, path)?;
    reader.known(map, path, &["target", "steps", "description"]);
    let target_text = reader.string(map, "target", path, true)?;
    let target_path = format!("{path}.target");
    let (component, rest) = match target_text.split_once('[') {
        Some(split) => split,
        None => {
            reader.error(&target_path, format!("'{target_text}' is not rules[name].property or teams[names].minPlayers/maxPlayers"));
            return None;
        }
    };
    let Some((names, property)) = rest.split_once("].") else {
        reader.error(
            &target_path,
            format!(
                "'{target_text}' is not rules[name].property or teams[names].minPlayers/maxPlayers"
            ),
        );
        return None;
    };
    let names: Vec<String> = names.split(',').map(|n| n.trim().to_string()).collect();
    let property = property.trim().to_string();
    let (target, value_kind) = match component.trim() {
        "rules" => {
            if names.len() != 1 {
                reader.error(&target_path, "an expansion targets one rule");
                return None;
            }
            let Some(rule) = rules.iter().find(|r| r.name == names[0]) else {
                reader.error(
                    &target_path,
                    format!("'{}' is not a rule of this rule set", names[0]),
                );
                return None;
            };
            if matches!(rule.kind, RuleKind::Compound(_)) {
                reader.error(
                    &target_path,
                    format!(
                        "'{}' is a compound rule, which cannot be expanded",
                        names[0]
                    ),
                );
                return None;
            }
            let Some(kind) = expandable(&rule.kind, &property) else {
                reader.error(
                    &target_path,
                    format!("'{property}' of rule '{}' cannot be expanded", names[0]),
                );
                return None;
            };
            (ExpansionTarget::Rule(names[0].clone(), property), kind)
        }
        "teams" => {
            for name in &names {
                if !teams.iter().any(|t| &t.name == name) && name != "*" {
                    reader.error(
                        &target_path,
                        format!("'{name}' is not a team of this rule set"),
                    );
                    return None;
                }
            }
            let min = match property.as_str() {
                "minPlayers" => true,
                "maxPlayers" => false,
                other => {
                    reader.error(
                        &target_path,
                        format!(
                            "'{other}' of a team cannot be expanded (minPlayers or maxPlayers)"
                        ),
                    );
                    return None;
                }
            };
            let names = if names.iter().any(|n| n == "*") {
                teams.iter().map(|t| t.name.clone()).collect()
            } else {
                names
            };
            (ExpansionTarget::Teams(names, min), "whole number")
        }
        other => {
            reader.error(
                &target_path,
                format!("'{other}' cannot be expanded (rules or teams)"),
            );
            return None;
        }
    };
    let mut steps = Vec::new();
    match list(reader, map, "steps", path) {
        None => reader.error(&format!("{path}.steps"), "is required"),
        Some(items) if items.is_empty() => {
            reader.error(&format!("{path}.steps"), "needs at least one step")
        }
        Some(items) => {
            let mut last = 0.0;
            for (i, step) in items.iter().enumerate() {
                let step_path = format!("{path}.steps[{i}]");
                let Some(step_map) = reader.object(step, &step_path) else {
                    continue;
                };
                reader.known(step_map, &step_path, &["waitTimeSeconds", "value"]);
                let Some(wait) = reader.number(step_map, "waitTimeSeconds", &step_path, true)
                else {
                    continue;
                };
                if wait <= last && (i > 0 || wait < 0.0) {
                    reader.error(
                        &format!("{step_path}.waitTimeSeconds"),
                        format!("{wait} must be greater than the previous step's {last}"),
                    );
                }
                last = wait;
                let value = step_map.get("value").cloned().unwrap_or(Json::Null);
                let fits = match value_kind {
                    "number" => number_of(&value).is_some(),
                    "whole number" => {
                        number_of(&value).is_some_and(|n| n >= 0.0 && n.fract() == 0.0)
                    }
                    "number or string" => number_of(&value).is_some() || value.is_string(),
                    _ => value.is_string() || value.is_array(),
                };
                if !fits {
                    reader.error(
                        &format!("{step_path}.value"),
                        format!("must be a {value_kind}"),
                    );
                }
                steps.push(Step {
                    wait_seconds: wait,
                    value,
                });
            }
        }
    }
    Some(Expansion { target, steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR_V_FOUR: &str = r#"{
        "name": "four-v-four", "ruleLanguageVersion": "1.0",
        "playerAttributes": [{"name": "skill", "type": "number", "default": 10}],
        "teams": [{"name": "red", "minPlayers": 4, "maxPlayers": 4}, {"name": "blue", "minPlayers": 4, "maxPlayers": 4}],
        "rules": [{"name": "FairSkill", "type": "distance",
                   "measurements": ["avg(teams[*].players.attributes[skill])"],
                   "referenceValue": "avg(flatten(teams[*].players.attributes[skill]))", "maxDistance": 10}],
        "expansions": [{"target": "rules[FairSkill].maxDistance", "steps": [{"waitTimeSeconds": 5, "value": 50}]}]
    }"#;

    #[test]
    fn a_documented_rule_set_reads() {
        let rule_set = parse(FOUR_V_FOUR).unwrap();
        assert_eq!(rule_set.match_size(), 8);
        assert_eq!(rule_set.rules.len(), 1);
        assert_eq!(rule_set.expansions[0].steps[0].wait_seconds, 5.0);
    }

    #[test]
    fn errors_name_the_path_of_the_bad_element() {
        let cases = [
            (
                r#"{"teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}]}"#,
                "$.ruleLanguageVersion: is required",
            ),
            (
                r#"{"ruleLanguageVersion": "2.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}]}"#,
                "$.ruleLanguageVersion: must be \"1.0\"",
            ),
            (r#"{"ruleLanguageVersion": "1.0"}"#, "$.teams: is required"),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 3, "maxPlayers": 2}]}"#,
                "$.teams[0].minPlayers: 3 is more than maxPlayers 2",
            ),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}, {"name": "a", "minPlayers": 1, "maxPlayers": 1}]}"#,
                "$.teams[1].name: team 'a' is defined twice",
            ),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}], "rules": [{"name": "r", "type": "magic"}]}"#,
                "$.rules[0].type: 'magic' is not a rule type",
            ),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}], "rules": [{"name": "r", "type": "distance", "measurements": ["avg(teams[*].players.attributes[skill])"], "referenceValue": 1, "maxDistance": 1}]}"#,
                "$.rules[0].measurements[0]: 'skill' is not a declared player attribute",
            ),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}], "rules": [{"name": "r", "type": "comparison", "measurements": ["count(teams[z].players)"], "operation": "="}]}"#,
                "$.rules[0].measurements[0]: 'z' is not a team",
            ),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}], "rules": [{"name": "r", "type": "latency", "maxLatency": 50}], "expansions": [{"target": "rules[r].maxLatency", "steps": [{"waitTimeSeconds": 10, "value": 100}, {"waitTimeSeconds": 5, "value": 150}]}]}"#,
                "$.expansions[0].steps[1].waitTimeSeconds: 5 must be greater",
            ),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}], "rules": [{"name": "r", "type": "latency", "maxLatency": 50}, {"name": "c", "type": "compound", "statement": "and(r, missing)"}]}"#,
                "$.rules[1].statement: 'missing' is not a rule defined before this one",
            ),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 50}]}"#,
                "$.algorithm.strategy: matches of more than 40 players need the balanced strategy",
            ),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}], "extra": 1}"#,
                "$.extra: unknown property",
            ),
            (
                r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 1}], "algorithm": {"batchingPreference": "sorted"}}"#,
                "$.algorithm.sortByAttributes: is required when batchingPreference is sorted",
            ),
            ("{ // comment\n}", "not valid JSON"),
        ];
        for (body, expected) in cases {
            let errors = parse(body).unwrap_err().to_string();
            assert!(
                errors.contains(expected),
                "{body}\n  gave: {errors}\n  wanted: {expected}"
            );
        }
    }
}
