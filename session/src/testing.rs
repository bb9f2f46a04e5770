//! Recording mock handlers for every interface, so game code can be tested with no backend.
//!
//! Each mock records every call (with its arguments) in order and answers with values the test
//! sets. Connect one to the interface's bus, run the code under test, then look at
//! [`calls`](RecordingSessionNotifications::calls).
//!
//! ```
//! use std::sync::Arc;
//! use game_session::testing::{RecordingSessionNotifications, SessionCall};
//! use game_session::{SESSION_NOTIFICATIONS, SessionConfig};
//!
//! let listener = Arc::new(RecordingSessionNotifications::default());
//! listener.set_create_session_vote(false);
//! let _connection = SESSION_NOTIFICATIONS.connect(listener.clone()).unwrap();
//!
//! // The code under test asks for a vote...
//! let session = SessionConfig { session_id: "s-1".into(), ..Default::default() };
//! let approved = SESSION_NOTIFICATIONS
//!     .broadcast_reduce(true, |l| l.on_create_session_begin(&session), |a, b| a && b);
//! assert!(!approved);
//! assert_eq!(listener.calls(), vec![SessionCall::CreateSessionBegin(session)]);
//! ```

use std::path::PathBuf;
use std::sync::Mutex;

use crate::{
    AcceptMatchRequest, CreateSessionRequest, JoinSessionRequest,
    MatchmakingAsyncRequestNotifications, MatchmakingAsyncRequests, MatchmakingNotifications,
    MatchmakingRequests, PlayerConnectionConfig, SearchSessionsRequest, SearchSessionsResponse,
    SessionAsyncRequestNotifications, SessionAsyncRequests, SessionConfig, SessionConnectionConfig,
    SessionError, SessionHandlingClientRequests, SessionHandlingProviderRequests,
    SessionNotifications, SessionRequests, StartMatchmakingRequest, StopMatchmakingRequest,
};

fn guard<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An ordered record of calls.
#[derive(Debug)]
pub struct Recorder<C> {
    calls: Mutex<Vec<C>>,
}

impl<C> Default for Recorder<C> {
    fn default() -> Self {
        Recorder {
            calls: Mutex::new(Vec::new()),
        }
    }
}

impl<C: Clone> Recorder<C> {
    fn push(&self, call: C) {
        guard(&self.calls).push(call);
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<C> {
        guard(&self.calls).clone()
    }

    /// Takes the calls so far, leaving the record empty.
    pub fn take(&self) -> Vec<C> {
        std::mem::take(&mut *guard(&self.calls))
    }
}

/// A value a mock answers with, settable by the test.
#[derive(Debug)]
pub struct Answer<T>(Mutex<T>);

impl<T: Clone> Answer<T> {
    fn new(value: T) -> Self {
        Answer(Mutex::new(value))
    }
    fn get(&self) -> T {
        guard(&self.0).clone()
    }
    fn set(&self, value: T) {
        *guard(&self.0) = value;
    }
}

macro_rules! recording {
    ($mock:ident, $call:ident) => {
        impl $mock {
            /// Every call so far, in order.
            pub fn calls(&self) -> Vec<$call> {
                self.record.calls()
            }
            /// Takes the calls so far.
            pub fn take_calls(&self) -> Vec<$call> {
                self.record.take()
            }
        }
    };
}

// ----- SessionRequests ----------------------------------------------------------------------------

/// A call made on [`SessionRequests`] or [`SessionAsyncRequests`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRequestCall {
    /// `create_session` / `create_session_async`.
    Create(CreateSessionRequest),
    /// `search_sessions` / `search_sessions_async`.
    Search(SearchSessionsRequest),
    /// `join_session` / `join_session_async`.
    Join(JoinSessionRequest),
    /// `leave_session` / `leave_session_async`.
    Leave,
}

/// A mock session provider: records requests and answers with the results the test sets
/// (by default: session `"session-1"`, no sessions found, a join to `127.0.0.1:7777`).
/// Its async form answers on [`SESSION_ASYNC_REQUEST_NOTIFICATIONS`](crate::SESSION_ASYNC_REQUEST_NOTIFICATIONS)
/// before returning.
#[derive(Debug)]
pub struct RecordingSessionRequests {
    record: Recorder<SessionRequestCall>,
    create: Answer<Result<String, SessionError>>,
    search: Answer<Result<SearchSessionsResponse, SessionError>>,
    join: Answer<Result<SessionConnectionConfig, SessionError>>,
    leave: Answer<Result<(), SessionError>>,
}

impl Default for RecordingSessionRequests {
    fn default() -> Self {
        RecordingSessionRequests {
            record: Recorder::default(),
            create: Answer::new(Ok("session-1".into())),
            search: Answer::new(Ok(SearchSessionsResponse::default())),
            join: Answer::new(Ok(SessionConnectionConfig {
                player_session_id: "psess-1".into(),
                ip_address: "127.0.0.1".into(),
                port: 7777,
                ..Default::default()
            })),
            leave: Answer::new(Ok(())),
        }
    }
}

recording!(RecordingSessionRequests, SessionRequestCall);

impl RecordingSessionRequests {
    /// What `create_session` answers.
    pub fn set_create_result(&self, result: Result<String, SessionError>) {
        self.create.set(result);
    }
    /// What `search_sessions` answers.
    pub fn set_search_result(&self, result: Result<SearchSessionsResponse, SessionError>) {
        self.search.set(result);
    }
    /// What `join_session` answers.
    pub fn set_join_result(&self, result: Result<SessionConnectionConfig, SessionError>) {
        self.join.set(result);
    }
    /// What `leave_session` answers.
    pub fn set_leave_result(&self, result: Result<(), SessionError>) {
        self.leave.set(result);
    }
}

impl SessionRequests for RecordingSessionRequests {
    fn create_session(&self, request: &CreateSessionRequest) -> Result<String, SessionError> {
        self.record
            .push(SessionRequestCall::Create(request.clone()));
        self.create.get()
    }
    fn search_sessions(
        &self,
        request: &SearchSessionsRequest,
    ) -> Result<SearchSessionsResponse, SessionError> {
        self.record
            .push(SessionRequestCall::Search(request.clone()));
        self.search.get()
    }
    fn join_session(
        &self,
        request: &JoinSessionRequest,
    ) -> Result<SessionConnectionConfig, SessionError> {
        self.record.push(SessionRequestCall::Join(request.clone()));
        self.join.get()
    }
    fn leave_session(&self) -> Result<(), SessionError> {
        self.record.push(SessionRequestCall::Leave);
        self.leave.get()
    }
}

impl SessionAsyncRequests for RecordingSessionRequests {
    fn create_session_async(&self, request: CreateSessionRequest) {
        let result = self.create_session(&request);
        crate::SESSION_ASYNC_REQUEST_NOTIFICATIONS
            .broadcast(|l| l.on_create_session_async_complete(&result));
    }
    fn search_sessions_async(&self, request: SearchSessionsRequest) {
        let result = self.search_sessions(&request);
        crate::SESSION_ASYNC_REQUEST_NOTIFICATIONS
            .broadcast(|l| l.on_search_sessions_async_complete(&result));
    }
    fn join_session_async(&self, request: JoinSessionRequest) {
        let result = self.join_session(&request);
        crate::SESSION_ASYNC_REQUEST_NOTIFICATIONS
            .broadcast(|l| l.on_join_session_async_complete(&result));
    }
    fn leave_session_async(&self) {
        let result = self.leave_session();
        crate::SESSION_ASYNC_REQUEST_NOTIFICATIONS
            .broadcast(|l| l.on_leave_session_async_complete(&result));
    }
}

// ----- async completions -------------------------------------------------------------------------

/// A completion received on [`SessionAsyncRequestNotifications`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCompletion {
    /// `on_create_session_async_complete`.
    Created(Result<String, SessionError>),
    /// `on_search_sessions_async_complete`.
    Searched(Result<SearchSessionsResponse, SessionError>),
    /// `on_join_session_async_complete`.
    Joined(Result<SessionConnectionConfig, SessionError>),
    /// `on_leave_session_async_complete`.
    Left(Result<(), SessionError>),
}

/// Records every async completion.
#[derive(Debug, Default)]
pub struct RecordingSessionAsyncNotifications {
    record: Recorder<SessionCompletion>,
}

recording!(RecordingSessionAsyncNotifications, SessionCompletion);

impl SessionAsyncRequestNotifications for RecordingSessionAsyncNotifications {
    fn on_create_session_async_complete(&self, result: &Result<String, SessionError>) {
        self.record.push(SessionCompletion::Created(result.clone()));
    }
    fn on_search_sessions_async_complete(
        &self,
        result: &Result<SearchSessionsResponse, SessionError>,
    ) {
        self.record
            .push(SessionCompletion::Searched(result.clone()));
    }
    fn on_join_session_async_complete(
        &self,
        result: &Result<SessionConnectionConfig, SessionError>,
    ) {
        self.record.push(SessionCompletion::Joined(result.clone()));
    }
    fn on_leave_session_async_complete(&self, result: &Result<(), SessionError>) {
        self.record.push(SessionCompletion::Left(result.clone()));
    }
}

// ----- server-side notifications -------------------------------------------------------------------

/// A call made on [`SessionNotifications`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCall {
    /// `on_session_health_check`.
    HealthCheck,
    /// `on_create_session_begin`.
    CreateSessionBegin(SessionConfig),
    /// `on_create_session_end`.
    CreateSessionEnd,
    /// `on_destroy_session_begin`.
    DestroySessionBegin,
    /// `on_destroy_session_end`.
    DestroySessionEnd,
    /// `on_update_session_begin`.
    UpdateSessionBegin(SessionConfig, String),
    /// `on_update_session_end`.
    UpdateSessionEnd,
}

/// Records server-side session events and votes as the test says (by default: yes).
#[derive(Debug)]
pub struct RecordingSessionNotifications {
    record: Recorder<SessionCall>,
    healthy: Answer<bool>,
    create_vote: Answer<bool>,
    destroy_vote: Answer<bool>,
}

impl Default for RecordingSessionNotifications {
    fn default() -> Self {
        RecordingSessionNotifications {
            record: Recorder::default(),
            healthy: Answer::new(true),
            create_vote: Answer::new(true),
            destroy_vote: Answer::new(true),
        }
    }
}

recording!(RecordingSessionNotifications, SessionCall);

impl RecordingSessionNotifications {
    /// What `on_session_health_check` answers.
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.set(healthy);
    }
    /// What `on_create_session_begin` votes.
    pub fn set_create_session_vote(&self, vote: bool) {
        self.create_vote.set(vote);
    }
    /// What `on_destroy_session_begin` votes.
    pub fn set_destroy_session_vote(&self, vote: bool) {
        self.destroy_vote.set(vote);
    }
}

impl SessionNotifications for RecordingSessionNotifications {
    fn on_session_health_check(&self) -> bool {
        self.record.push(SessionCall::HealthCheck);
        self.healthy.get()
    }
    fn on_create_session_begin(&self, session: &SessionConfig) -> bool {
        self.record
            .push(SessionCall::CreateSessionBegin(session.clone()));
        self.create_vote.get()
    }
    fn on_create_session_end(&self) {
        self.record.push(SessionCall::CreateSessionEnd);
    }
    fn on_destroy_session_begin(&self) -> bool {
        self.record.push(SessionCall::DestroySessionBegin);
        self.destroy_vote.get()
    }
    fn on_destroy_session_end(&self) {
        self.record.push(SessionCall::DestroySessionEnd);
    }
    fn on_update_session_begin(&self, session: &SessionConfig, update_reason: &str) {
        self.record.push(SessionCall::UpdateSessionBegin(
            session.clone(),
            update_reason.to_string(),
        ));
    }
    fn on_update_session_end(&self) {
        self.record.push(SessionCall::UpdateSessionEnd);
    }
}

// ----- session handling ------------------------------------------------------------------------------

/// A call made on a session-handling interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlingCall {
    /// `request_player_join_session`.
    RequestJoin(SessionConnectionConfig),
    /// `request_player_leave_session`.
    RequestLeave,
    /// `handle_destroy_session`.
    DestroySession,
    /// `validate_player_join_session`.
    ValidateJoin(PlayerConnectionConfig),
    /// `handle_player_leave_session`.
    PlayerLeave(PlayerConnectionConfig),
}

/// A mock client network layer ([`SessionHandlingClientRequests`]); joins start by default.
#[derive(Debug)]
pub struct RecordingClientHandling {
    record: Recorder<HandlingCall>,
    join: Answer<bool>,
}

impl Default for RecordingClientHandling {
    fn default() -> Self {
        RecordingClientHandling {
            record: Recorder::default(),
            join: Answer::new(true),
        }
    }
}

recording!(RecordingClientHandling, HandlingCall);

impl RecordingClientHandling {
    /// What `request_player_join_session` answers.
    pub fn set_join_result(&self, started: bool) {
        self.join.set(started);
    }
}

impl SessionHandlingClientRequests for RecordingClientHandling {
    fn request_player_join_session(&self, config: &SessionConnectionConfig) -> bool {
        self.record.push(HandlingCall::RequestJoin(config.clone()));
        self.join.get()
    }
    fn request_player_leave_session(&self) {
        self.record.push(HandlingCall::RequestLeave);
    }
}

/// A mock hosting provider ([`SessionHandlingProviderRequests`]); players are valid by default.
#[derive(Debug)]
pub struct RecordingProviderHandling {
    record: Recorder<HandlingCall>,
    valid: Answer<bool>,
    certificate: Answer<PathBuf>,
}

impl Default for RecordingProviderHandling {
    fn default() -> Self {
        RecordingProviderHandling {
            record: Recorder::default(),
            valid: Answer::new(true),
            certificate: Answer::new(PathBuf::new()),
        }
    }
}

recording!(RecordingProviderHandling, HandlingCall);

impl RecordingProviderHandling {
    /// What `validate_player_join_session` answers.
    pub fn set_valid(&self, valid: bool) {
        self.valid.set(valid);
    }
    /// What both certificate getters answer.
    pub fn set_certificate(&self, path: PathBuf) {
        self.certificate.set(path);
    }
}

impl SessionHandlingProviderRequests for RecordingProviderHandling {
    fn handle_destroy_session(&self) {
        self.record.push(HandlingCall::DestroySession);
    }
    fn validate_player_join_session(&self, config: &PlayerConnectionConfig) -> bool {
        self.record.push(HandlingCall::ValidateJoin(config.clone()));
        self.valid.get()
    }
    fn handle_player_leave_session(&self, config: &PlayerConnectionConfig) {
        self.record.push(HandlingCall::PlayerLeave(config.clone()));
    }
    fn internal_session_certificate(&self) -> PathBuf {
        self.certificate.get()
    }
    fn external_session_certificate(&self) -> PathBuf {
        self.certificate.get()
    }
}

// ----- matchmaking ---------------------------------------------------------------------------------

/// A call made on [`MatchmakingRequests`] or [`MatchmakingAsyncRequests`].
#[derive(Debug, Clone, PartialEq)]
pub enum MatchmakingCall {
    /// `accept_match` / `accept_match_async`.
    Accept(AcceptMatchRequest),
    /// `start_matchmaking` / `start_matchmaking_async`.
    Start(StartMatchmakingRequest),
    /// `stop_matchmaking` / `stop_matchmaking_async`.
    Stop(StopMatchmakingRequest),
}

/// A mock matchmaking provider (ticket `"ticket-1"` by default).
#[derive(Debug)]
pub struct RecordingMatchmakingRequests {
    record: Recorder<MatchmakingCall>,
    start: Answer<Result<String, SessionError>>,
    accept: Answer<Result<(), SessionError>>,
    stop: Answer<Result<(), SessionError>>,
}

impl Default for RecordingMatchmakingRequests {
    fn default() -> Self {
        RecordingMatchmakingRequests {
            record: Recorder::default(),
            start: Answer::new(Ok("ticket-1".into())),
            accept: Answer::new(Ok(())),
            stop: Answer::new(Ok(())),
        }
    }
}

recording!(RecordingMatchmakingRequests, MatchmakingCall);

impl RecordingMatchmakingRequests {
    /// What `start_matchmaking` answers.
    pub fn set_start_result(&self, result: Result<String, SessionError>) {
        self.start.set(result);
    }
    /// What `accept_match` answers.
    pub fn set_accept_result(&self, result: Result<(), SessionError>) {
        self.accept.set(result);
    }
    /// What `stop_matchmaking` answers.
    pub fn set_stop_result(&self, result: Result<(), SessionError>) {
        self.stop.set(result);
    }
}

impl MatchmakingRequests for RecordingMatchmakingRequests {
    fn accept_match(&self, request: &AcceptMatchRequest) -> Result<(), SessionError> {
        self.record.push(MatchmakingCall::Accept(request.clone()));
        self.accept.get()
    }
    fn start_matchmaking(&self, request: &StartMatchmakingRequest) -> Result<String, SessionError> {
        self.record.push(MatchmakingCall::Start(request.clone()));
        self.start.get()
    }
    fn stop_matchmaking(&self, request: &StopMatchmakingRequest) -> Result<(), SessionError> {
        self.record.push(MatchmakingCall::Stop(request.clone()));
        self.stop.get()
    }
}

impl MatchmakingAsyncRequests for RecordingMatchmakingRequests {
    fn accept_match_async(&self, request: AcceptMatchRequest) {
        let result = self.accept_match(&request);
        crate::MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS
            .broadcast(|l| l.on_accept_match_async_complete(&result));
    }
    fn start_matchmaking_async(&self, request: StartMatchmakingRequest) {
        let result = self.start_matchmaking(&request);
        crate::MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS
            .broadcast(|l| l.on_start_matchmaking_async_complete(&result));
    }
    fn stop_matchmaking_async(&self, request: StopMatchmakingRequest) {
        let result = self.stop_matchmaking(&request);
        crate::MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS
            .broadcast(|l| l.on_stop_matchmaking_async_complete(&result));
    }
}

/// A matchmaking event, async completion or ticket notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchmakingEvent {
    /// `on_accept_match_async_complete`.
    AcceptCompleted(Result<(), SessionError>),
    /// `on_start_matchmaking_async_complete`.
    StartCompleted(Result<String, SessionError>),
    /// `on_stop_matchmaking_async_complete`.
    StopCompleted(Result<(), SessionError>),
    /// `on_match_acceptance`.
    Acceptance,
    /// `on_match_complete`.
    Complete,
    /// `on_match_error`.
    Error,
    /// `on_match_failure`.
    Failure,
}

/// Records matchmaking completions and notifications.
#[derive(Debug, Default)]
pub struct RecordingMatchmakingNotifications {
    record: Recorder<MatchmakingEvent>,
}

recording!(RecordingMatchmakingNotifications, MatchmakingEvent);

impl MatchmakingAsyncRequestNotifications for RecordingMatchmakingNotifications {
    fn on_accept_match_async_complete(&self, result: &Result<(), SessionError>) {
        self.record
            .push(MatchmakingEvent::AcceptCompleted(result.clone()));
    }
    fn on_start_matchmaking_async_complete(&self, result: &Result<String, SessionError>) {
        self.record
            .push(MatchmakingEvent::StartCompleted(result.clone()));
    }
    fn on_stop_matchmaking_async_complete(&self, result: &Result<(), SessionError>) {
        self.record
            .push(MatchmakingEvent::StopCompleted(result.clone()));
    }
}

impl MatchmakingNotifications for RecordingMatchmakingNotifications {
    fn on_match_acceptance(&self) {
        self.record.push(MatchmakingEvent::Acceptance);
    }
    fn on_match_complete(&self) {
        self.record.push(MatchmakingEvent::Complete);
    }
    fn on_match_error(&self) {
        self.record.push(MatchmakingEvent::Error);
    }
    fn on_match_failure(&self) {
        self.record.push(MatchmakingEvent::Failure);
    }
}
