//! The `SearchGameSessions` filter and sort expression languages: parsing, printing and
//! evaluation.
//!
//! ```text
//! filter     = or ;   or = and { "OR" and } ;   and = unary { "AND" unary } ;
//! unary      = "NOT" unary | "(" or ")" | condition ;
//! condition  = operand comparator value ;
//! operand    = gameSessionId | gameSessionName | maximumSessions | creationTimeMillis
//!            | playerSessionCount | hasAvailablePlayerSessions | gameSessionProperties.<key> ;
//! comparator = "<=" | ">=" | "<>" | "=" | "<" | ">" ;
//! value      = number | true | false | 'string' (backslash escapes; double quotes accepted) ;
//! sort       = operand ( ASC | DESC ) ;
//! ```
//!
//! Numbers compare with all six comparators; booleans and strings (ids, names and every game
//! property, which the service stores as text) only with `=` and `<>`. Keywords are
//! case-insensitive.

use std::cmp::Ordering;
use std::fmt;

/// What a condition or sort looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operand {
    /// `gameSessionId` (the full ARN).
    GameSessionId,
    /// `gameSessionName`.
    GameSessionName,
    /// `maximumSessions` (the maximum player session count).
    MaximumSessions,
    /// `creationTimeMillis`.
    CreationTimeMillis,
    /// `playerSessionCount` (players holding a slot).
    PlayerSessionCount,
    /// `hasAvailablePlayerSessions`.
    HasAvailablePlayerSessions,
    /// `gameSessionProperties.<key>`.
    Property(String),
}

impl Operand {
    fn kind(&self) -> Kind {
        match self {
            Operand::GameSessionId | Operand::GameSessionName | Operand::Property(_) => Kind::Text,
            Operand::MaximumSessions
            | Operand::CreationTimeMillis
            | Operand::PlayerSessionCount => Kind::Number,
            Operand::HasAvailablePlayerSessions => Kind::Boolean,
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::GameSessionId => f.write_str("gameSessionId"),
            Operand::GameSessionName => f.write_str("gameSessionName"),
            Operand::MaximumSessions => f.write_str("maximumSessions"),
            Operand::CreationTimeMillis => f.write_str("creationTimeMillis"),
            Operand::PlayerSessionCount => f.write_str("playerSessionCount"),
            Operand::HasAvailablePlayerSessions => f.write_str("hasAvailablePlayerSessions"),
            Operand::Property(key) => write!(f, "gameSessionProperties.{key}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Boolean,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Gt => ">",
            Comparator::Le => "<=",
            Comparator::Ge => ">=",
        })
    }
}

impl Comparator {
    fn accepts(self, ordering: Ordering) -> bool {
        match self {
            Comparator::Eq => ordering == Ordering::Equal,
            Comparator::Ne => ordering != Ordering::Equal,
            Comparator::Lt => ordering == Ordering::Less,
            Comparator::Gt => ordering == Ordering::Greater,
            Comparator::Le => ordering != Ordering::Greater,
            Comparator::Ge => ordering != Ordering::Less,
        }
    }
}

/// A literal on the right of a comparator.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A quoted string.
    Text(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Text(text) => {
                f.write_str("'")?;
                for c in text.chars() {
                    if c == '\'' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("'")
            }
        }
    }
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `operand comparator value`.
    Condition(Operand, Comparator, Literal),
    /// `NOT f`.
    Not(Box<Filter>),
    /// `a AND b AND ...` (two or more).
    And(Vec<Filter>),
    /// `a OR b OR ...` (two or more).
    Or(Vec<Filter>),
}

impl Filter {
    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(_) => 1,
            Filter::And(_) => 2,
            Filter::Not(_) => 3,
            Filter::Condition(..) => 4,
        }
    }

    fn write_child(&self, f: &mut fmt::Formatter<'_>, parent: u8) -> fmt::Result {
        // AND and OR are associative, so a child of the same kind needs no parentheses.
        if self.precedence() < parent && !matches!(self, Filter::Not(_)) {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }

    /// The conditions that must all hold for the filter to match (its top-level `AND` terms).
    pub fn conjuncts(&self) -> Vec<&Filter> {
        match self {
            Filter::And(terms) => terms.iter().collect(),
            other => vec![other],
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Condition(operand, comparator, literal) => {
                write!(f, "{operand} {comparator} {literal}")
            }
            Filter::Not(inner) => {
                f.write_str("NOT ")?;
                if matches!(**inner, Filter::Condition(..) | Filter::Not(_)) {
                    write!(f, "{inner}")
                } else {
                    write!(f, "({inner})")
                }
            }
            Filter::And(terms) | Filter::Or(terms) => {
                let (word, own) = if matches!(self, Filter::And(_)) {
                    (" AND ", 2)
                } else {
                    (" OR ", 1)
                };
                for (index, term) in terms.iter().enumerate() {
                    if index > 0 {
                        f.write_str(word)?;
                    }
                    term.write_child(f, own)?;
                }
                Ok(())
            }
        }
    }
}

/// A parsed sort expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// What to sort by.
    pub operand: Operand,
    /// `ASC` (true) or `DESC`.
    pub ascending: bool,
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.operand,
            if self.ascending { "ASC" } else { "DESC" }
        )
    }
}

/// What a search sees of one game session.
pub trait Searchable {
    /// The game session ARN.
    fn game_session_id(&self) -> &str;
    /// The name, if any.
    fn game_session_name(&self) -> Option<&str>;
    /// The maximum player session count.
    fn maximum_sessions(&self) -> i64;
    /// Creation time in epoch milliseconds.
    fn creation_time_millis(&self) -> i64;
    /// Players holding a slot.
    fn player_session_count(&self) -> i64;
    /// A game property's value.
    fn property(&self, key: &str) -> Option<&str>;
}

/// A value an operand takes on a session, for comparisons and sorting.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum SortValue<'a> {
    /// A number.
    Number(f64),
    /// A boolean (false sorts first).
    Bool(bool),
    /// A string.
    Text(&'a str),
}

/// The value of `operand` on `session` (`None` when the session has no such value).
pub fn operand_value<'s>(operand: &Operand, session: &'s dyn Searchable) -> Option<SortValue<'s>> {
    Some(match operand {
        Operand::GameSessionId => SortValue::Text(session.game_session_id()),
        Operand::GameSessionName => SortValue::Text(session.game_session_name()?),
        Operand::MaximumSessions => SortValue::Number(session.maximum_sessions() as f64),
        Operand::CreationTimeMillis => SortValue::Number(session.creation_time_millis() as f64),
        Operand::PlayerSessionCount => SortValue::Number(session.player_session_count() as f64),
        Operand::HasAvailablePlayerSessions => {
            SortValue::Bool(session.player_session_count() < session.maximum_sessions())
        }
        Operand::Property(key) => SortValue::Text(session.property(key)?),
    })
}

impl Filter {
    /// Whether `session` matches.
    pub fn matches(&self, session: &dyn Searchable) -> bool {
        match self {
            Filter::Condition(operand, comparator, literal) => {
                let Some(value) = operand_value(operand, session) else {
                    // A missing value (no name, no such property) matches nothing, not even `<>`.
                    return false;
                };
                let ordering = match (&value, literal) {
                    (SortValue::Number(a), Literal::Number(b)) => a.partial_cmp(b),
                    (SortValue::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
                    (SortValue::Text(a), Literal::Text(b)) => Some((*a).cmp(b.as_str())),
                    _ => None,
                };
                ordering.is_some_and(|ordering| comparator.accepts(ordering))
            }
            Filter::Not(inner) => !inner.matches(session),
            Filter::And(terms) => terms.iter().all(|term| term.matches(session)),
            Filter::Or(terms) => terms.iter().any(|term| term.matches(session)),
        }
    }
}

/// Why an expression could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Comparator(Comparator),
    Number(f64),
    Text(String),
    Open,
    Close,
}

fn tokenize(input: &str) -> Result<Vec<(usize, Token)>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push((start, Token::Open));
                i += 1;
            }
            ')' => {
                tokens.push((start, Token::Close));
                i += 1;
            }
            '<' | '>' | '=' | '!' => {
                let next = chars.get(i + 1).copied();
                let (comparator, width) = match (c, next) {
                    ('<', Some('=')) => (Comparator::Le, 2),
                    ('>', Some('=')) => (Comparator::Ge, 2),
                    ('<', Some('>')) => (Comparator::Ne, 2),
                    ('!', Some('=')) => (Comparator::Ne, 2),
                    ('<', _) => (Comparator::Lt, 1),
                    ('>', _) => (Comparator::Gt, 1),
                    ('=', _) => (Comparator::Eq, 1),
                    _ => {
                        return Err(ParseError(format!(
                            "unexpected character '{c}' at position {start}"
                        )));
                    }
                };
                tokens.push((start, Token::Comparator(comparator)));
                i += width;
            }
            '\'' | '"' => {
                let quote = c;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(ParseError(format!(
                                "the string starting at position {start} is not closed"
                            )));
                        }
                        Some('\\') => match chars.get(i + 1) {
                            Some(escaped) => {
                                text.push(*escaped);
                                i += 2;
                            }
                            None => {
                                return Err(ParseError(format!(
                                    "the string starting at position {start} ends with a lone backslash"
                                )));
                            }
                        },
                        Some(&q) if q == quote => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            text.push(other);
                            i += 1;
                        }
                    }
                }
                tokens.push((start, Token::Text(text)));
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                let mut end = i + 1;
                while end < chars.len()
                    && (chars[end].is_ascii_digit() || matches!(chars[end], '.' | 'e' | 'E'))
                {
                    end += 1;
                }
                let text: String = chars[i..end].iter().collect();
                let number: f64 = text.parse().map_err(|_| {
                    ParseError(format!("'{text}' at position {start} is not a number"))
                })?;
                if !number.is_finite() {
                    return Err(ParseError(format!(
                        "'{text}' at position {start} is not a finite number"
                    )));
                }
                tokens.push((start, Token::Number(number)));
                i = end;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut end = i + 1;
                while end < chars.len()
                    && (chars[end].is_alphanumeric() || matches!(chars[end], '_' | '.' | '-'))
                {
                    end += 1;
                }
                tokens.push((start, Token::Word(chars[i..end].iter().collect())));
                i = end;
            }
            other => {
                return Err(ParseError(format!(
                    "unexpected character '{other}' at position {start}"
                )));
            }
        }
    }
    Ok(tokens)
}

fn parse_operand(word: &str, position: usize) -> Result<Operand, ParseError> {
    Ok(match word {
        "gameSessionId" => Operand::GameSessionId,
        "gameSessionName" => Operand::GameSessionName,
        "maximumSessions" => Operand::MaximumSessions,
        "creationTimeMillis" => Operand::CreationTimeMillis,
        "playerSessionCount" => Operand::PlayerSessionCount,
        "hasAvailablePlayerSessions" => Operand::HasAvailablePlayerSessions,
        other => match other.strip_prefix("gameSessionProperties.") {
            Some(key) if !key.is_empty() && !key.contains('.') && key.len() <= 32 => {
                Operand::Property(key.to_string())
            }
            Some(key) if key.contains('.') => {
                return Err(ParseError(format!(
                    "game property keys containing '.' cannot be searched ('{key}' at position {position})"
                )));
            }
            _ => {
                return Err(ParseError(format!(
                    "'{other}' at position {position} is not a searchable operand; expected gameSessionId, gameSessionName, gameSessionProperties.<key>, maximumSessions, creationTimeMillis, playerSessionCount or hasAvailablePlayerSessions"
                )));
            }
        },
    })
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    index: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.index).map(|(_, token)| token)
    }

    fn position(&self) -> usize {
        self.tokens
            .get(self.index)
            .map_or(self.end, |(position, _)| *position)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self, depth: usize) -> Result<Filter, ParseError> {
        let mut terms = vec![self.and(depth)?];
        while self.keyword("OR") {
            self.index += 1;
            terms.push(self.and(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Filter::Or(terms)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Filter, ParseError> {
        let mut terms = vec![self.unary(depth)?];
        while self.keyword("AND") {
            self.index += 1;
            terms.push(self.unary(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Filter::And(terms)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ParseError> {
        if depth > 64 {
            return Err(ParseError(
                "the filter nests more than 64 levels deep".into(),
            ));
        }
        if self.keyword("NOT") {
            self.index += 1;
            return Ok(Filter::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.index += 1;
            let inner = self.or(depth + 1)?;
            if self.peek() != Some(&Token::Close) {
                return Err(ParseError(format!(
                    "expected ')' at position {}",
                    self.position()
                )));
            }
            self.index += 1;
            return Ok(inner);
        }
        self.condition()
    }

    fn condition(&mut self) -> Result<Filter, ParseError> {
        let position = self.position();
        let operand = match self.peek() {
            Some(Token::Word(word)) => parse_operand(word, position)?,
            _ => {
                return Err(ParseError(format!(
                    "expected an operand at position {position}"
                )));
            }
        };
        self.index += 1;
        let comparator = match self.peek() {
            Some(Token::Comparator(comparator)) => *comparator,
            _ => {
                return Err(ParseError(format!(
                    "expected a comparator (=, <>, <, >, <=, >=) after {operand} at position {}",
                    self.position()
                )));
            }
        };
        self.index += 1;
        let value_position = self.position();
        let literal = match self.peek() {
            Some(Token::Number(n)) => Literal::Number(*n),
            Some(Token::Text(text)) => Literal::Text(text.clone()),
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("false") => Literal::Bool(false),
            _ => {
                return Err(ParseError(format!(
                    "expected a value (a number, true, false or a quoted string) at position {value_position}"
                )));
            }
        };
        self.index += 1;
        let kind = operand.kind();
        let fits = matches!(
            (kind, &literal),
            (Kind::Number, Literal::Number(_))
                | (Kind::Boolean, Literal::Bool(_))
                | (Kind::Text, Literal::Text(_))
        );
        if !fits {
            let expected = match kind {
                Kind::Number => "a number",
                Kind::Boolean => "true or false",
                Kind::Text => "a quoted string",
            };
            return Err(ParseError(format!(
                "{operand} must be compared with {expected} (position {value_position})"
            )));
        }
        if kind != Kind::Number && !matches!(comparator, Comparator::Eq | Comparator::Ne) {
            return Err(ParseError(format!(
                "{operand} can only be compared with = or <>, not {comparator} (position {position})"
            )));
        }
        Ok(Filter::Condition(operand, comparator, literal))
    }
}

/// Parses a filter expression.
pub fn parse_filter(input: &str) -> Result<Filter, ParseError> {
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(ParseError("the filter expression is empty".into()));
    }
    let mut parser = Parser {
        tokens,
        index: 0,
        end: input.chars().count(),
    };
    let filter = parser.or(0)?;
    if parser.index < parser.tokens.len() {
        return Err(ParseError(format!(
            "unexpected input at position {}; expected AND, OR or the end of the filter",
            parser.position()
        )));
    }
    Ok(filter)
}

/// Parses a sort expression.
pub fn parse_sort(input: &str) -> Result<Sort, ParseError> {
    let tokens = tokenize(input)?;
    match tokens.as_slice() {
        [
            (position, Token::Word(operand)),
            (_, Token::Word(direction)),
        ] => {
            let operand = parse_operand(operand, *position)?;
            let ascending = if direction.eq_ignore_ascii_case("ASC") {
                true
            } else if direction.eq_ignore_ascii_case("DESC") {
                false
            } else {
                return Err(ParseError(format!(
                    "the sort direction must be ASC or DESC, not '{direction}'"
                )));
            };
            Ok(Sort { operand, ascending })
        }
        _ => Err(ParseError(
            "a sort expression is an operand followed by ASC or DESC".into(),
        )),
    }
}

/// Orders two sessions by `sort`; sessions without a value go last in either direction.
pub fn compare(sort: &Sort, a: &dyn Searchable, b: &dyn Searchable) -> Ordering {
    match (
        operand_value(&sort.operand, a),
        operand_value(&sort.operand, b),
    ) {
        (Some(x), Some(y)) => {
            let ordering = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
            if sort.ascending {
                ordering
            } else {
                ordering.reverse()
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples_parse() {
        for text in [
            "maximumSessions>=10 AND hasAvailablePlayerSessions=true",
            "gameSessionName = 'Matt\\'s Awesome Game 1'",
            "gameSessionProperties.gameMode = \"brawl\"",
            "x1 = 1",
        ] {
            let result = parse_filter(text);
            if text.starts_with("x1") {
                assert!(result.is_err());
            } else {
                assert!(result.is_ok(), "{text}: {result:?}");
            }
        }
        let filter = parse_filter("gameSessionName = 'Matt\\'s Awesome Game 1'").unwrap();
        assert_eq!(
            filter,
            Filter::Condition(
                Operand::GameSessionName,
                Comparator::Eq,
                Literal::Text("Matt's Awesome Game 1".into())
            )
        );
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let filter = parse_filter(
            "playerSessionCount = 1 OR maximumSessions > 2 and not playerSessionCount < 3",
        )
        .unwrap();
        assert_eq!(
            filter.to_string(),
            "playerSessionCount = 1 OR maximumSessions > 2 AND NOT playerSessionCount < 3"
        );
        match filter {
            Filter::Or(terms) => assert!(matches!(terms[1], Filter::And(_))),
            other => panic!("{other:?}"),
        }
        let grouped = parse_filter("NOT (playerSessionCount = 1 OR maximumSessions = 2)").unwrap();
        assert_eq!(
            grouped.to_string(),
            "NOT (playerSessionCount = 1 OR maximumSessions = 2)"
        );
    }

    #[test]
    fn type_and_syntax_errors_say_what_is_wrong() {
        let message = |text: &str| parse_filter(text).unwrap_err().0;
        assert!(message("gameSessionName > 'a'").contains("only be compared with = or <>"));
        assert!(message("maximumSessions = 'ten'").contains("must be compared with a number"));
        assert!(message("hasAvailablePlayerSessions = 1").contains("true or false"));
        assert!(message("gameSessionProperties.level > 5").contains("quoted string"));
        assert!(message("gameSessionName = 'open").contains("not closed"));
        assert!(message("(maximumSessions = 1").contains("expected ')'"));
        assert!(message("maximumSessions = 1 maximumSessions = 2").contains("expected AND, OR"));
        assert!(message("gameSessionProperties.a.b = 'x'").contains("containing '.'"));
        assert!(message("").contains("empty"));
        assert_eq!(
            parse_sort("playerSessionCount desc").unwrap().to_string(),
            "playerSessionCount DESC"
        );
        assert!(
            parse_sort("playerSessionCount UP")
                .unwrap_err()
                .0
                .contains("ASC or DESC")
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn operand() -> impl Strategy<Value = Operand> {
        prop_oneof![
            Just(Operand::GameSessionId),
            Just(Operand::GameSessionName),
            Just(Operand::MaximumSessions),
            Just(Operand::CreationTimeMillis),
            Just(Operand::PlayerSessionCount),
            Just(Operand::HasAvailablePlayerSessions),
            "[a-zA-Z][a-zA-Z0-9_]{0,8}".prop_map(Operand::Property),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, spaces and keywords inside strings must survive printing.
        prop_oneof![
            "[a-z ]{0,6}",
            Just("it's".to_string()),
            Just("back\\slash".to_string()),
            Just("AND OR NOT ( )".to_string()),
        ]
    }

    pub(super) fn condition() -> impl Strategy<Value = Filter> {
        (operand(), 0usize..6, text(), -1000i64..1000, any::<bool>()).prop_map(
            |(operand, comparator, text, number, flag)| {
                let all = [
                    Comparator::Eq,
                    Comparator::Ne,
                    Comparator::Lt,
                    Comparator::Gt,
                    Comparator::Le,
                    Comparator::Ge,
                ];
                match operand.kind() {
                    Kind::Number => {
                        Filter::Condition(operand, all[comparator], Literal::Number(number as f64))
                    }
                    Kind::Boolean => {
                        Filter::Condition(operand, all[comparator % 2], Literal::Bool(flag))
                    }
                    Kind::Text => {
                        Filter::Condition(operand, all[comparator % 2], Literal::Text(text))
                    }
                }
            },
        )
    }

    pub(super) fn filter() -> impl Strategy<Value = Filter> {
        condition().prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
                prop::collection::vec(inner, 2..4).prop_map(Filter::Or),
            ]
        })
    }

    /// Flattens nested AND-in-AND and OR-in-OR, which print identically.
    fn normalize(filter: Filter) -> Filter {
        match filter {
            Filter::And(terms) => Filter::And(
                terms
                    .into_iter()
                    .map(normalize)
                    .flat_map(|t| match t {
                        Filter::And(inner) => inner,
                        other => vec![other],
                    })
                    .collect(),
            ),
            Filter::Or(terms) => Filter::Or(
                terms
                    .into_iter()
                    .map(normalize)
                    .flat_map(|t| match t {
                        Filter::Or(inner) => inner,
                        other => vec![other],
                    })
                    .collect(),
            ),
            Filter::Not(inner) => Filter::Not(Box::new(normalize(*inner))),
            condition => condition,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn printing_then_parsing_gives_the_same_filter(filter in filter()) {
            let printed = filter.to_string();
            let parsed = parse_filter(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
            prop_assert_eq!(parsed, normalize(filter), "{}", printed);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,80}") {
            let _ = parse_filter(&text);
            let _ = parse_sort(&text);
        }
    }
}
