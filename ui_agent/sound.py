"""An optional beep in the console when something new needs the agent: a customer wrote in one
of their chats, or a new request joined the queue.

Off by default; a sidebar toggle turns it on for this session. The beep is a 0.3-second tone
made in the page with the Web Audio API: no audio file, nothing fetched from anyone. Each beep
also counts itself in `window.tandemBeeps` (and `<html data-tandem-beeps>`), which is how a
test sees that the page played one.
"""

from __future__ import annotations

import streamlit as st

from ui_agent import console

PREF = "sound_pref"
"""The choice, kept apart from the widget's key (Streamlit drops a widget's key on a page
that does not draw it, e.g. the login form after a session expired)."""
_SEEN = "sound_seen"
_BEEPS = "sound_beeps"

_BEEP_JS = """<script>
(() => {
  const n = %d;
  window.tandemBeeps = (window.tandemBeeps || 0) + 1;
  document.documentElement.dataset.tandemBeeps = String(window.tandemBeeps);
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    const ctx = window.tandemAudio || (window.tandemAudio = new Ctx());
    if (ctx.state === "suspended") ctx.resume();
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    const t = ctx.currentTime;
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, t);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.32);
  } catch (e) { /* no audio here: the beep still counts */ }
  void n;
})();
</script>"""


def enabled() -> bool:
    return bool(st.session_state.get(PREF, False))


def _on_toggle() -> None:
    st.session_state[PREF] = bool(st.session_state.get("sound_toggle"))


def toggle() -> None:
    """The sidebar switch."""
    st.session_state["sound_toggle"] = enabled()
    st.toggle(
        "Sound on new messages",
        key="sound_toggle",
        on_change=_on_toggle,
        help="A short beep when a customer writes in one of your chats or a new request waits.",
    )


def _snapshot() -> tuple[frozenset[str], dict[str, int]]:
    """Who waits, and per held chat the newest customer message's seq."""
    s = console.state()
    waiting = frozenset(r.id for r in s.queue)
    newest = {
        room_id: max((m.seq for m in console.history(room_id) if m.sender == "user"), default=0)
        for room_id in console.open_chats()
    }
    return waiting, newest


def news(
    before: tuple[frozenset[str], dict[str, int]] | None, now: tuple[frozenset[str], dict[str, int]]
) -> bool:
    """Something to beep for: a request not waiting before, or a customer message newer than
    the last one in a chat we already held (a chat just taken brings its history, no beep)."""
    if before is None:
        return False
    waiting, newest = before
    if now[0] - waiting:
        return True
    return any(room_id in newest and seq > newest[room_id] for room_id, seq in now[1].items())


def play_if_news() -> None:
    """After the page drew: compare with the last run and beep when on and something is new."""
    now = _snapshot()
    before = st.session_state.get(_SEEN)
    st.session_state[_SEEN] = now
    if not enabled() or not news(before, now):
        return
    count = int(st.session_state.get(_BEEPS, 0)) + 1
    st.session_state[_BEEPS] = count
    st.html(_BEEP_JS % count, unsafe_allow_javascript=True, width="content")
