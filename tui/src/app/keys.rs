//! The key bindings: which [`Action`] a key means in each mode.
//!
//! Only the mapping lives here; the board applies the action
//! ([`App::perform`](super::App::perform)), so both halves are tested
//! without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{Mode, Overlay};

/// What the user asked the board to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// Any key closes the help, as in k9s; only `q` also acts.
    CloseHelp {
        quit: bool,
    },
    /// Esc: close the overlay, else clear the filter, else the status line.
    Back,
    MoveLane(isize),
    MoveRow(isize),
    /// Open the detail pane on the selected card, or close it.
    ToggleDetail,
    ShowHelp,
    StartFilter,
    CycleSort,
    ToggleTerminal,
    Resync,
    /// The selected delivery's next status on the happy path.
    Advance,
    /// Ask before cancelling the selected delivery.
    AskCancel,
    /// Start typing a courier for the selected delivery.
    StartCourier,
    Filter(Edit),
    Courier(Edit),
    /// The answer to "cancel?": only y or Y is a yes.
    ConfirmCancel(bool),
}

/// A keystroke in a one-line input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Push(char),
    Pop,
    /// Enter.
    Submit,
    /// Esc.
    Abort,
}

/// Rows that PgUp and PgDn move.
const PAGE: isize = 10;
/// Far enough to reach either end of any lane, with room to add to it.
const END: isize = isize::MAX / 2;

/// The action `key` means in `mode`; `None` for a key that means nothing there.
pub fn action(key: KeyEvent, mode: &Mode, overlay: Overlay, read_only: bool) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Normal if overlay == Overlay::Help => Some(Action::CloseHelp {
            quit: key.code == KeyCode::Char('q'),
        }),
        Mode::Normal => normal(key.code, read_only),
        Mode::Filter => edit(key.code).map(Action::Filter),
        Mode::Courier { .. } => edit(key.code).map(Action::Courier),
        Mode::ConfirmCancel { .. } => Some(Action::ConfirmCancel(matches!(
            key.code,
            KeyCode::Char('y' | 'Y')
        ))),
    }
}

fn normal(code: KeyCode, read_only: bool) -> Option<Action> {
    Some(match code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => Action::Back,
        KeyCode::Left | KeyCode::Char('h') => Action::MoveLane(-1),
        KeyCode::Right | KeyCode::Char('l') => Action::MoveLane(1),
        KeyCode::Up | KeyCode::Char('k') => Action::MoveRow(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::MoveRow(1),
        KeyCode::PageUp => Action::MoveRow(-PAGE),
        KeyCode::PageDown => Action::MoveRow(PAGE),
        KeyCode::Home | KeyCode::Char('g') => Action::MoveRow(-END),
        KeyCode::End | KeyCode::Char('G') => Action::MoveRow(END),
        KeyCode::Enter => Action::ToggleDetail,
        KeyCode::Char('?') => Action::ShowHelp,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('t') => Action::ToggleTerminal,
        KeyCode::Char('r') => Action::Resync,
        KeyCode::Char('a') if !read_only => Action::Advance,
        KeyCode::Char('x') if !read_only => Action::AskCancel,
        KeyCode::Char('c') if !read_only => Action::StartCourier,
        _ => return None,
    })
}

fn edit(code: KeyCode) -> Option<Edit> {
    Some(match code {
        KeyCode::Enter => Edit::Submit,
        KeyCode::Esc => Edit::Abort,
        KeyCode::Backspace => Edit::Pop,
        KeyCode::Char(c) => Edit::Push(c),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use food_api::DeliveryStatus;

    use super::*;
    use crate::app::tests::{code, key};

    fn normal_key(k: KeyEvent) -> Option<Action> {
        action(k, &Mode::Normal, Overlay::None, false)
    }

    #[test]
    fn vim_keys_and_arrows_move_alike() {
        for (vim, arrow) in [
            ('h', KeyCode::Left),
            ('l', KeyCode::Right),
            ('k', KeyCode::Up),
            ('j', KeyCode::Down),
            ('g', KeyCode::Home),
            ('G', KeyCode::End),
        ] {
            assert_eq!(normal_key(key(vim)), normal_key(code(arrow)), "{vim}");
            assert!(normal_key(key(vim)).is_some(), "{vim}");
        }
    }

    #[test]
    fn ctrl_c_quits_in_every_mode_and_a_release_means_nothing() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let courier = Mode::Courier {
            order_id: "o".into(),
            input: String::new(),
            next: DeliveryStatus::Assigned,
        };
        for mode in [Mode::Normal, Mode::Filter, courier] {
            assert_eq!(
                action(ctrl_c, &mode, Overlay::Help, false),
                Some(Action::Quit),
                "{mode:?}"
            );
        }

        let mut release = key('q');
        release.kind = KeyEventKind::Release;
        assert_eq!(normal_key(release), None);
    }

    #[test]
    fn typed_letters_go_into_the_filter_not_to_the_bindings() {
        assert_eq!(
            action(key('q'), &Mode::Filter, Overlay::None, false),
            Some(Action::Filter(Edit::Push('q')))
        );
        assert_eq!(
            action(
                code(KeyCode::Backspace),
                &Mode::Filter,
                Overlay::None,
                false
            ),
            Some(Action::Filter(Edit::Pop))
        );
    }

    #[test]
    fn only_y_confirms_a_cancel() {
        let confirm = Mode::ConfirmCancel {
            order_id: "o".into(),
        };
        let answer = |k| action(k, &confirm, Overlay::None, false);

        assert_eq!(answer(key('y')), Some(Action::ConfirmCancel(true)));
        assert_eq!(answer(key('Y')), Some(Action::ConfirmCancel(true)));
        assert_eq!(answer(key('n')), Some(Action::ConfirmCancel(false)));
        assert_eq!(
            answer(code(KeyCode::Esc)),
            Some(Action::ConfirmCancel(false))
        );
    }

    #[test]
    fn the_help_closes_on_any_key_and_q_also_quits() {
        let help = |k| action(k, &Mode::Normal, Overlay::Help, false);

        assert_eq!(help(key('j')), Some(Action::CloseHelp { quit: false }));
        assert_eq!(help(key('q')), Some(Action::CloseHelp { quit: true }));
    }

    #[test]
    fn a_read_only_board_binds_no_action_keys() {
        for c in ['a', 'x', 'c'] {
            assert!(normal_key(key(c)).is_some(), "{c}");
            assert_eq!(
                action(key(c), &Mode::Normal, Overlay::None, true),
                None,
                "{c}"
            );
        }
    }
}
