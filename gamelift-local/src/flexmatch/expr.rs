//! Property expressions of the rule language: `teams[red].players.attributes[skill]`,
//! `avg(flatten(teams[*].players.attributes[skill]))`, `count(teams[*].players)`,
//! `teams[*].players[playerId]`, and their values on a (partial) match.

use std::collections::BTreeMap;

/// The aggregation and list functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Min,
    Max,
    Avg,
    Median,
    Sum,
    Stddev,
    Count,
    Flatten,
    SetIntersection,
}

impl Function {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "min" => Function::Min,
            "max" => Function::Max,
            "avg" => Function::Avg,
            "median" => Function::Median,
            "sum" => Function::Sum,
            "stddev" => Function::Stddev,
            "count" => Function::Count,
            "flatten" => Function::Flatten,
            "set_intersection" => Function::SetIntersection,
            _ => return None,
        })
    }
}

/// Which teams an expression names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Teams {
    /// `teams[*]`.
    All,
    /// `teams[a]` or `teams[a,b]`.
    Named(Vec<String>),
}

/// What an expression takes from the selected teams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// `teams[...]`: the teams (as lists of players).
    Teams,
    /// `teams[...].players` or `teams[...].players[playerId]`: player ids.
    PlayerIds,
    /// `teams[...].players.attributes[name]`.
    Attribute(String),
}

/// A parsed property expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A path into the match.
    Path(Teams, Part),
    /// A function applied to an expression.
    Call(Function, Box<Expr>),
}

impl Expr {
    /// Parses `text`; the error names what is wrong.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let mut parser = Parser { text, at: 0 };
        let expr = parser.expr(0)?;
        parser.space();
        if parser.at != text.len() {
            return Err(format!(
                "unexpected '{}' at position {} of expression '{text}'",
                &text[parser.at..],
                parser.at
            ));
        }
        Ok(expr)
    }

    /// Every attribute the expression reads.
    pub fn attributes(&self) -> Vec<&str> {
        match self {
            Expr::Path(_, Part::Attribute(name)) => vec![name.as_str()],
            Expr::Path(..) => Vec::new(),
            Expr::Call(_, inner) => inner.attributes(),
        }
    }

    /// Every team name the expression selects by name.
    pub fn team_names(&self) -> Vec<&str> {
        match self {
            Expr::Path(Teams::Named(names), _) => names.iter().map(String::as_str).collect(),
            Expr::Path(..) => Vec::new(),
            Expr::Call(_, inner) => inner.team_names(),
        }
    }

    /// Whether the expression counts players or teams (its value changes with team sizes, so
    /// a partial match is judged on it only once complete).
    pub fn counts(&self) -> bool {
        match self {
            Expr::Path(..) => false,
            Expr::Call(Function::Count, _) => true,
            Expr::Call(_, inner) => inner.counts(),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.text[self.at..].starts_with(char::is_whitespace) {
            self.at += self.text[self.at..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
    }

    fn word(&mut self) -> &str {
        self.space();
        let start = self.at;
        let rest = &self.text[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.at += len;
        &self.text[start..start + len]
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        self.space();
        if self.text[self.at..].starts_with(token) {
            self.at += token.len();
            Ok(())
        } else {
            Err(format!(
                "expected '{token}' at position {} of expression '{}'",
                self.at, self.text
            ))
        }
    }

    fn bracketed(&mut self) -> Result<String, String> {
        self.expect("[")?;
        let rest = &self.text[self.at..];
        let end = rest
            .find(']')
            .ok_or_else(|| format!("'[' without ']' in expression '{}'", self.text))?;
        let inside = rest[..end].trim().to_string();
        self.at += end + 1;
        Ok(inside)
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > 16 {
            return Err(format!("expression '{}' is nested too deeply", self.text));
        }
        let word = self.word().to_string();
        if word.is_empty() {
            return Err(format!(
                "expected a function or 'teams' at position {} of expression '{}'",
                self.at, self.text
            ));
        }
        if word == "teams" || word == "team" {
            return self.path();
        }
        let function = Function::parse(&word).ok_or_else(|| {
            format!(
                "unknown function '{word}' in expression '{}' (known: min, max, avg, median, sum, stddev, count, flatten, set_intersection)",
                self.text
            )
        })?;
        self.expect("(")?;
        let inner = self.expr(depth + 1)?;
        self.expect(")")?;
        Ok(Expr::Call(function, Box::new(inner)))
    }

    fn path(&mut self) -> Result<Expr, String> {
        let inside = self.bracketed()?;
        let teams = if inside == "*" {
            Teams::All
        } else {
            let names: Vec<String> = inside.split(',').map(|n| n.trim().to_string()).collect();
            if names.iter().any(String::is_empty) {
                return Err(format!("empty team name in expression '{}'", self.text));
            }
            Teams::Named(names)
        };
        self.space();
        if !self.text[self.at..].starts_with('.') {
            return Ok(Expr::Path(teams, Part::Teams));
        }
        self.expect(".")?;
        let word = self.word().to_string();
        if word != "players" {
            return Err(format!(
                "expected 'players' after 'teams[...].' in expression '{}'",
                self.text
            ));
        }
        self.space();
        if self.text[self.at..].starts_with('[') {
            let inside = self.bracketed()?;
            if inside != "playerId" {
                return Err(format!(
                    "only players[playerId] can be selected, not players[{inside}], in expression '{}'",
                    self.text
                ));
            }
            return Ok(Expr::Path(teams, Part::PlayerIds));
        }
        if !self.text[self.at..].starts_with('.') {
            return Ok(Expr::Path(teams, Part::PlayerIds));
        }
        self.expect(".")?;
        let word = self.word().to_string();
        if word != "attributes" {
            return Err(format!(
                "expected 'attributes[name]' after 'players.' in expression '{}'",
                self.text
            ));
        }
        let name = self.bracketed()?;
        if name.is_empty() {
            return Err(format!(
                "empty attribute name in expression '{}'",
                self.text
            ));
        }
        Ok(Expr::Path(teams, Part::Attribute(name)))
    }
}

/// A player attribute's value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Attr {
    /// `S`: a string.
    Str(String),
    /// `N`: a number.
    Num(f64),
    /// `SL`: a list of strings.
    StrList(Vec<String>),
    /// `SDM`: a map of strings to numbers.
    NumMap(BTreeMap<String, f64>),
}

/// A value an expression takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Num(f64),
    Str(String),
    StrList(Vec<String>),
    NumMap(BTreeMap<String, f64>),
    List(Vec<Val>),
}

impl From<&Attr> for Val {
    fn from(attr: &Attr) -> Self {
        match attr {
            Attr::Str(s) => Val::Str(s.clone()),
            Attr::Num(n) => Val::Num(*n),
            Attr::StrList(l) => Val::StrList(l.clone()),
            Attr::NumMap(m) => Val::NumMap(m.clone()),
        }
    }
}

/// What an expression is evaluated on: the teams of a (partial) match.
pub trait MatchView {
    /// The teams, in order: (generated name, definition name).
    fn team_names(&self) -> Vec<(&str, &str)>;
    /// The players of team `index`: their ids.
    fn team_players(&self, index: usize) -> Vec<&str>;
    /// The value of attribute `name` for player `player` of team `index` (with defaults).
    fn attribute(&self, index: usize, player: usize, name: &str) -> Option<Val>;
}

/// Evaluates `expr` on `view`; `None` when the value cannot be formed (a missing attribute,
/// a number function over strings).
pub fn eval(expr: &Expr, view: &dyn MatchView) -> Option<Val> {
    match expr {
        Expr::Path(teams, part) => {
            let names = view.team_names();
            let selected: Vec<usize> = match teams {
                Teams::All => (0..names.len()).collect(),
                Teams::Named(wanted) => (0..names.len())
                    .filter(|&i| {
                        let (name, definition) = names[i];
                        wanted.iter().any(|w| w == name || w == definition)
                    })
                    .collect(),
            };
            // One team named once (and not generated from a quantity) is a single team.
            let single = matches!(teams, Teams::Named(w) if w.len() == 1) && selected.len() == 1;
            let per_team = |index: usize| -> Option<Val> {
                let players = view.team_players(index);
                Some(Val::List(match part {
                    Part::Teams | Part::PlayerIds => {
                        players.iter().map(|p| Val::Str((*p).to_string())).collect()
                    }
                    Part::Attribute(name) => (0..players.len())
                        .map(|p| view.attribute(index, p, name))
                        .collect::<Option<Vec<Val>>>()?,
                }))
            };
            if single {
                per_team(selected[0])
            } else {
                Some(Val::List(
                    selected
                        .into_iter()
                        .map(per_team)
                        .collect::<Option<Vec<Val>>>()?,
                ))
            }
        }
        Expr::Call(function, inner) => apply(*function, eval(inner, view)?),
    }
}

fn is_nested(items: &[Val]) -> bool {
    !items.is_empty() && items.iter().all(|v| matches!(v, Val::List(_)))
}

fn apply(function: Function, value: Val) -> Option<Val> {
    let Val::List(items) = value else {
        return match function {
            Function::Count => Some(Val::Num(1.0)),
            Function::Flatten => Some(value),
            _ => numbers_of(&value).and_then(|n| aggregate(function, &n)),
        };
    };
    match function {
        Function::Flatten => Some(Val::List(
            items
                .into_iter()
                .flat_map(|item| match item {
                    Val::List(inner) => inner,
                    other => vec![other],
                })
                .collect(),
        )),
        Function::SetIntersection => {
            let sets: Vec<Vec<String>> = items
                .iter()
                .map(|item| match item {
                    Val::StrList(list) => Some(list.clone()),
                    Val::Str(s) => Some(vec![s.clone()]),
                    Val::List(inner) => inner
                        .iter()
                        .map(|v| match v {
                            Val::Str(s) => Some(vec![s.clone()]),
                            Val::StrList(l) => Some(l.clone()),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>()
                        .map(|l| l.concat()),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let mut common: Vec<String> = sets.first().cloned().unwrap_or_default();
            common.sort();
            common.dedup();
            for set in &sets[1.min(sets.len())..] {
                common.retain(|v| set.contains(v));
            }
            Some(Val::StrList(common))
        }
        _ if is_nested(&items) => Some(Val::List(
            items
                .into_iter()
                .map(|item| apply(function, item))
                .collect::<Option<Vec<_>>>()?,
        )),
        Function::Count => Some(Val::Num(items.len() as f64)),
        _ => {
            let numbers = items
                .iter()
                .map(numbers_of)
                .collect::<Option<Vec<Vec<f64>>>>()?
                .concat();
            aggregate(function, &numbers)
        }
    }
}

fn numbers_of(value: &Val) -> Option<Vec<f64>> {
    match value {
        Val::Num(n) => Some(vec![*n]),
        Val::List(items) => Some(
            items
                .iter()
                .map(numbers_of)
                .collect::<Option<Vec<_>>>()?
                .concat(),
        ),
        _ => None,
    }
}

/// A number function over `numbers`; `None` over nothing (no value yet, as in a team with no
/// players).
pub fn aggregate(function: Function, numbers: &[f64]) -> Option<Val> {
    if numbers.is_empty() {
        return if function == Function::Sum {
            Some(Val::Num(0.0))
        } else {
            None
        };
    }
    let n = numbers.len() as f64;
    let sum: f64 = numbers.iter().sum();
    Some(Val::Num(match function {
        Function::Min => numbers.iter().copied().fold(f64::INFINITY, f64::min),
        Function::Max => numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Function::Avg => sum / n,
        Function::Sum => sum,
        Function::Median => {
            let mut sorted = numbers.to_vec();
            sorted.sort_by(f64::total_cmp);
            let mid = sorted.len() / 2;
            if sorted.len().is_multiple_of(2) {
                (sorted[mid - 1] + sorted[mid]) / 2.0
            } else {
                sorted[mid]
            }
        }
        Function::Stddev => {
            let mean = sum / n;
            (numbers.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
        }
        Function::Count => n,
        Function::Flatten | Function::SetIntersection => return None,
    }))
}

/// Every scalar in `value`, in order (lists flattened, empty lists give nothing).
pub fn scalars(value: Val) -> Vec<Val> {
    match value {
        Val::List(items) => items.into_iter().flat_map(scalars).collect(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;
    impl MatchView for Two {
        fn team_names(&self) -> Vec<(&str, &str)> {
            vec![("red", "red"), ("blue", "blue")]
        }
        fn team_players(&self, index: usize) -> Vec<&str> {
            if index == 0 {
                vec!["a", "b"]
            } else {
                vec!["c"]
            }
        }
        fn attribute(&self, index: usize, player: usize, name: &str) -> Option<Val> {
            (name == "skill").then(|| Val::Num([[10.0, 20.0], [40.0, 0.0]][index][player]))
        }
    }

    fn value(text: &str) -> Val {
        eval(&Expr::parse(text).unwrap(), &Two).unwrap()
    }

    #[test]
    fn documented_expressions_evaluate() {
        assert_eq!(
            value("avg(teams[*].players.attributes[skill])"),
            Val::List(vec![Val::Num(15.0), Val::Num(40.0)])
        );
        assert_eq!(
            value("avg(flatten(teams[*].players.attributes[skill]))"),
            Val::Num(70.0 / 3.0)
        );
        assert_eq!(
            value("count(teams[*].players)"),
            Val::List(vec![Val::Num(2.0), Val::Num(1.0)])
        );
        assert_eq!(value("count(teams[red].players)"), Val::Num(2.0));
        assert_eq!(
            value("max(avg(teams[*].players.attributes[skill]))"),
            Val::Num(40.0)
        );
        assert_eq!(
            value("teams[blue].players[playerId]"),
            Val::List(vec![Val::Str("c".into())])
        );
        assert_eq!(
            value("sum(teams[red, blue].players.attributes[skill])"),
            Val::List(vec![Val::Num(30.0), Val::Num(40.0)])
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        for (text, expected) in [
            ("average(teams[*].players)", "unknown function 'average'"),
            ("teams[*].player", "expected 'players'"),
            ("teams[*].players[name]", "only players[playerId]"),
            ("avg(teams[*].players.attributes[skill]", "expected ')'"),
            ("teams[red", "without ']'"),
            ("teams[*] extra", "unexpected 'extra'"),
        ] {
            let error = Expr::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
