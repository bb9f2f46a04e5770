//! Session invites: a local-only extension under the target prefix `GameLiftLocal.` (Amazon
//! GameLift has no invite API). It carries the invites of named sessions between players, so the
//! whole invite flow runs on one machine; against Amazon GameLift a game provides its own
//! transport. JSON protocol only (`POST /`, `X-Amz-Target: GameLiftLocal.<Operation>`).
//!
//! * `GameLiftLocal.SendSessionInvite` `{GameSessionId, From, To}` -> `{InviteId}`: the game
//!   session must exist and be `ACTIVE`; at most 100 invites wait for one player.
//! * `GameLiftLocal.ListSessionInvites` `{PlayerId}` -> `{Invites: [{InviteId, From, To,
//!   GameSessionId}]}`, oldest first.
//! * `GameLiftLocal.DeleteSessionInvite` `{PlayerId, InviteId}` -> `{Invite}`; an invite not
//!   addressed to that player is `NotFoundException`.

use crate::error::{ErrorCode, ServiceError};
use crate::service::Service;
use crate::state::GameSessionStatus;
use crate::validate::{Input, Str};
use crate::wire::Value;

/// The operations of the extension.
pub const INVITE_OPERATIONS: &[&str] = &[
    "GameLiftLocal.SendSessionInvite",
    "GameLiftLocal.ListSessionInvites",
    "GameLiftLocal.DeleteSessionInvite",
];

/// Invites waiting for one player, at most.
pub const MAX_PENDING_INVITES: usize = 100;

pub use crate::state::Invite;

const PLAYER: Str = Str::len(1, 1024);

impl Service {
    /// Handles a `GameLiftLocal.` invite operation.
    pub(crate) fn invite_call(
        &self,
        operation: &str,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        match operation {
            "GameLiftLocal.SendSessionInvite" => {
                let session = reader.str("GameSessionId", Str::len(1, 512).required());
                let from = reader.str("From", PLAYER.required());
                let to = reader.str("To", PLAYER.required());
                reader.finish()?;
                let (session, from, to) = (
                    session.unwrap_or_default(),
                    from.unwrap_or_default(),
                    to.unwrap_or_default(),
                );
                self.with_state_region(region, |region| {
                    let status = region.sessions.get(&session).map(|s| s.status);
                    match status {
                        None => {
                            return Err(ServiceError::not_found(format!(
                                "Game session {session} not found."
                            )));
                        }
                        Some(GameSessionStatus::Active) => {}
                        Some(other) => {
                            return Err(ServiceError::new(
                                ErrorCode::InvalidGameSessionStatus,
                                format!(
                                    "Game session {session} is {} and cannot be invited to.",
                                    other.as_str()
                                ),
                            ));
                        }
                    }
                    let waiting = region.invites.values().filter(|i| i.to == to).count();
                    if waiting >= MAX_PENDING_INVITES {
                        return Err(ServiceError::new(
                            ErrorCode::LimitExceeded,
                            format!("{to} has {MAX_PENDING_INVITES} invites waiting already"),
                        ));
                    }
                    region.next_seq += 1;
                    let id = format!("invite-{}", uuid::Uuid::new_v4().simple());
                    region.invites.insert(
                        id.clone(),
                        Invite {
                            id: id.clone(),
                            from,
                            to,
                            game_session_arn: session,
                            seq: region.next_seq,
                        },
                    );
                    Ok(Value::map().with("InviteId", id))
                })
            }
            "GameLiftLocal.ListSessionInvites" => {
                let player = reader.str("PlayerId", PLAYER.required());
                reader.finish()?;
                let player = player.unwrap_or_default();
                self.with_state_region(region, |region| {
                    let mut invites: Vec<&Invite> =
                        region.invites.values().filter(|i| i.to == player).collect();
                    invites.sort_by_key(|i| i.seq);
                    Ok(Value::map().with(
                        "Invites",
                        invites.iter().map(|i| i.to_value()).collect::<Vec<_>>(),
                    ))
                })
            }
            "GameLiftLocal.DeleteSessionInvite" => {
                let player = reader.str("PlayerId", PLAYER.required());
                let id = reader.str("InviteId", Str::len(1, 64).required());
                reader.finish()?;
                let (player, id) = (player.unwrap_or_default(), id.unwrap_or_default());
                self.with_state_region(region, |region| {
                    match region.invites.get(&id) {
                        Some(invite) if invite.to == player => {}
                        _ => {
                            return Err(ServiceError::not_found(format!(
                                "No invite {id} for {player}."
                            )));
                        }
                    }
                    let invite = region.invites.remove(&id);
                    Ok(Value::map().with(
                        "Invite",
                        invite.map(|i| i.to_value()).unwrap_or_else(Value::map),
                    ))
                })
            }
            other => Err(ServiceError::unknown_operation(other)),
        }
    }
}
