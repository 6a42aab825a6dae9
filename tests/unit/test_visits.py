"""Recorded visits without the model: the phases text, the neutral of a recording without a
still hold, and the live protocol moved by the clock against the live protocol itself on the same
synthetic landmark stream (exact angles). The real-frames comparison is in test_neck_real.py."""

from __future__ import annotations

import numpy as np
import pytest

from romcam.capture.synthetic import Segment, demo_segments, neck_landmarks, script_angles
from romcam.errors import RomcamError
from romcam.measure.analysis import analyze_landmarks
from romcam.measure.joints import get_joint
from romcam.measure.neutral import neutral_over, stillest_stretch
from romcam.session import phases as ph
from romcam.session.engine import SessionEngine
from romcam.session.protocol import (Finished, NeutralMeasured, Phase, PhaseStarted, ProtocolConfig, RepDone,
                                     TrialDone)
from romcam.session.visit_runner import find_neutral, recorded_engine

NECK = get_joint("neck_lateral_flexion")


# ------------------------------------------------------------------------------- the phases text

@pytest.mark.parametrize("text,seconds", [("35", 35.0), ("35.5", 35.5), ("2:05", 125.0), ("02:05.5", 125.5),
                                          ("1:02:05", 3725.0), ("0:00", 0.0)])
def test_times_in_seconds_or_clock_form(text, seconds):
    assert ph.parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1:75", "1.5:00", "1:2:3:4", "-3", "2m"])
def test_bad_times_are_one_line_errors(text):
    with pytest.raises(RomcamError) as e:
        ph.parse_time(text, "--neutral")
    assert "\n" not in str(e.value) and "(" in str(e.value)


def test_the_issue_example_and_the_dash_form():
    spans = ph.parse_phases("before=0:35,set=35:160,after=160:190")
    assert [(s.name, s.start_s, s.end_s) for s in spans] == [("before", 0, 35), ("set", 35, 160),
                                                             ("after", 160, 190)]
    assert ph.describe(spans) == "before 0:00-0:35, set 0:35-2:40, after 2:40-3:10"
    # clock times need the dash; the order given does not matter; the set may be left out
    spans = ph.parse_phases(" after = 2:40-3:10 , before=0:00.5-0:35 ")
    assert [(s.name, s.start_s, s.end_s) for s in spans] == [("before", 0.5, 35), ("after", 160, 190)]
    assert ph.parse_range("2:05-2:08", "--neutral") == (125.0, 128.0)
    assert ph.parse_range("125:128", "--neutral") == (125.0, 128.0)


@pytest.mark.parametrize("text,fragment", [
    ("", "--phases is empty"),
    ("before=0:35,warmup=35:60,after=60:90", "unknown phase 'warmup'"),
    ("before=0:35,before=35:60,after=60:90", "'before' twice"),
    ("before=0:35,set=35:160", "no after phase"),
    ("set=0:35", "no before and no after"),
    ("before=0:35,set=30:160,after=160:190", "starts before"),
    ("before=0:35,after=20:30", "starts before"),
    ("before=35:0,after=40:50", "ends before it starts"),
    ("before=0:00:0:35,after=40:50", "start-end"),
    ("before,after=40:50", "no time range"),
])
def test_bad_phases_are_one_line_errors(text, fragment):
    with pytest.raises(RomcamError) as e:
        ph.parse_phases(text)
    message = str(e.value)
    assert fragment in message and "\n" not in message and "(" in message, message


def test_phases_against_the_video_length():
    spans = ph.parse_phases("before=0:35,set=35:160,after=160:190")
    fitted, notes = ph.fit_to_video(spans, 189.6)          # typed as 3:10, the file is 3:09.6
    assert fitted[-1].end_s == 189.6 and notes == ["after ends at the video's end, 3:09.6"]
    with pytest.raises(RomcamError, match="goes past the end of the video at 2:30"):
        ph.fit_to_video(spans, 150.0)
    assert ph.fit_to_video(spans, None) == (spans, [])      # length unknown: nothing to check
    with pytest.raises(RomcamError, match="starts after the end of the video"):
        ph.check_range_in_video(200.0, 203.0, 190.0, "--neutral")


# ------------------------------------------------------------------------------------ the neutral

def test_stillest_stretch_is_the_hold_at_rest_not_the_hold_at_the_end_of_range():
    fps = 30.0
    t = np.arange(int(20 * fps)) / fps
    rng = np.random.default_rng(3)
    angle = 2.0 + rng.normal(0, 0.8, t.size)                 # restless at rest...
    angle[(t >= 4) & (t < 6)] = 2.5 + rng.normal(0, 0.1, int(2 * fps))      # ...but still here
    angle[(t >= 10) & (t < 16)] = 30.0 + rng.normal(0, 0.02, int(6 * fps))  # stiller, at end range
    s = stillest_stretch(t, {"signed": angle})
    print(f"\nstillest stretch {s.start_s:.2f}-{s.end_s:.2f} s, {s.values['signed']:.2f} deg, SD {s.spread_deg:.2f}")
    assert 4.0 <= s.start_s and s.end_s < 6.0 and s.values["signed"] == pytest.approx(2.5, abs=0.1)
    assert s.still and s.source == "stillest"
    # a head turned away in the still stretch is not looking ahead: the next stillest is taken
    turn = np.zeros_like(t)
    turn[(t >= 3.5) & (t < 6.5)] = 40.0
    s2 = stillest_stretch(t, {"signed": angle}, turn)
    assert not (4.0 <= s2.start_s < 6.0) and abs(s2.values["signed"] - 2.0) < 1.5
    assert stillest_stretch(t, {"signed": np.full_like(t, np.nan)}) is None


def test_neutral_over_a_given_stretch():
    t = np.arange(300) / 30.0
    angle = np.where(t < 5, 3.0, 12.0)
    angle[10] = np.nan
    n = neutral_over(t, {"signed": angle}, 1.0, 3.0)
    assert n.values == {"signed": 3.0} and n.spread_deg == 0.0 and n.source == "given"
    with pytest.raises(RomcamError, match="only 0 usable frames"):
        neutral_over(t, {"signed": np.full_like(t, np.nan)}, 1.0, 3.0)


# ------------------------------------------------------ the recorded protocol against the live one

def _stream(segments, offset=2.0, noise=0.0):
    t, angle, labels = script_angles(segments)
    return t, labels, neck_landmarks(t, angle, neutral_offset_deg=offset, noise_deg=noise)


def _spans(t, labels, names=("before", "set", "after")):
    """The phases of a scripted stream, as a clinician would read them off the video."""
    out = []
    for name in names:
        idx = np.flatnonzero(np.asarray(labels) == name)
        out.append(f"{name}={t[idx[0]]:.2f}:{t[idx[-1]] + 0.6:.2f}")
    return ph.parse_phases(",".join(out))


def _run(engine, stream):
    events = [e for lm in stream for e in engine.step(lm)]
    events += engine.protocol.end_of_stream(stream[-1].t_s, 1 / 30.0)
    return events + engine.protocol.stop(stream[-1].t_s, "end of stream")


def _recorded(config, stream, spans, neutral_range=None):
    return recorded_engine(config, stream, spans, neutral_range)


def _peaks(events, kind, phase=None):
    return [e.rep.peak_deg for e in events if isinstance(e, kind) and (phase is None or e.phase is phase)]


@pytest.mark.slow
@pytest.mark.parametrize("noise", [0.0, 0.4])
def test_recorded_visit_finds_what_the_live_protocol_finds(noise):
    segments = demo_segments("right", reps=12)
    t, labels, stream = _stream(segments, noise=noise)
    config = ProtocolConfig(NECK, ("right",), trials=3, target_reps=12)
    live_events = _run(SessionEngine(config), stream)
    engine, stretch = _recorded(config, stream, _spans(t, labels))
    events = _run(engine, stream)
    live_neutral = next(e for e in live_events if isinstance(e, NeutralMeasured)).neutral_deg["signed"]
    print(f"\nnoise {noise}: neutral live {live_neutral:.3f}, recorded {stretch.values['signed']:.3f} "
          f"({stretch.start_s:.1f}-{stretch.end_s:.1f} s)")
    for kind, phase in ((TrialDone, Phase.BEFORE), (RepDone, None), (TrialDone, Phase.AFTER)):
        live, rec = _peaks(live_events, kind, phase), _peaks(events, kind, phase)
        print(f"  {kind.__name__} {phase and phase.value}: live {np.round(live, 2)}, recorded {np.round(rec, 2)}")
        assert len(rec) == len(live) > 0
        assert np.max(np.abs(np.subtract(rec, live))) <= (0.01 if noise == 0 else 0.05)   # the neutral differs by 0.001
    assert [e.phase for e in events if isinstance(e, PhaseStarted)] == [Phase.BEFORE, Phase.SET, Phase.AFTER,
                                                                        Phase.DONE]
    finished = next(e for e in events if isinstance(e, Finished))
    assert finished.complete and finished.reason == "done"


@pytest.fixture(scope="module")
def demo_stream():
    return _stream(demo_segments("right", reps=8))


@pytest.mark.slow
def test_recorded_set_is_not_cut_at_its_target_and_frames_outside_the_phases_count_for_nothing(demo_stream):
    t, labels, stream = demo_stream
    config = ProtocolConfig(NECK, ("right",), trials=3, target_reps=5)
    engine, _ = _recorded(config, stream, _spans(t, labels))
    events = _run(engine, stream)
    assert len(_peaks(events, RepDone)) == 8         # live would stop the set at 5
    # a visit without the set: its reps fall between the phases and count for nothing
    engine, _ = _recorded(config, stream, _spans(t, labels, ("before", "after")))
    events = _run(engine, stream)
    assert _peaks(events, RepDone) == [] and len(_peaks(events, TrialDone)) == 6
    assert [e.phase for e in events if isinstance(e, PhaseStarted)] == [Phase.BEFORE, Phase.AFTER, Phase.DONE]
    (finished,) = [e for e in events if isinstance(e, Finished)]
    assert finished.complete and finished.outcomes[0].delta_deg == pytest.approx(5.0, abs=0.1)


@pytest.mark.slow
def test_recorded_visit_that_ends_early_is_incomplete(demo_stream):
    t, labels, stream = demo_stream
    config = ProtocolConfig(NECK, ("right",), trials=3, target_reps=8)
    spans = _spans(t, labels)
    cut = [lm for lm in stream if lm.t_s < spans[-1].start_s + 2.0]    # the file stops early in 'after'
    engine, _ = _recorded(config, cut, spans)
    events = _run(engine, cut)
    (finished,) = [e for e in events if isinstance(e, Finished)]
    assert not finished.complete and finished.reason == "end of stream"


def test_given_neutral_zeroes_the_neck_in_the_analysis_as_in_the_session():
    """`analyze --neutral` and `session --neutral` use the same stretch function: with the
    neutral hold named, the angles are relative to it and the peaks are the scripted ones."""
    segments = [Segment("neutral", (), 2.5), Segment("before", (20.0, 21.0, 19.0)), Segment("rest", (), 1.0)]
    t, labels, stream = _stream(segments, offset=4.0)
    hold = t[np.asarray(labels) == "neutral"]
    a = analyze_landmarks(NECK, stream, "right", neutral_range=(hold[0] + 0.5, hold[-1]))
    ch = a.channels["signed"]
    print(f"\ngiven neutral {a.neutral_given.values}, peaks {[round(r.peak_deg, 2) for r in a.sides['right'].reps]}")
    assert a.neutral_given.values["signed"] == pytest.approx(4.0, abs=0.01)
    assert np.nanmedian(np.abs(ch.filtered[np.asarray(labels) == "neutral"])) < 0.01
    assert [r.peak_deg for r in a.sides["right"].reps] == pytest.approx([20.0, 21.0, 19.0], abs=0.1)
    config = ProtocolConfig(NECK, ("right",))
    stretch, _ = find_neutral(config, stream, ph.parse_phases("before=2.5:10,after=10:12"),
                              (hold[0] + 0.5, hold[-1]))
    assert stretch.values["signed"] == pytest.approx(a.neutral_given.values["signed"], abs=0.01)


# ----------------------------------------------------------------------------- the commands' errors

@pytest.fixture(scope="module")
def two_second_video(tmp_path_factory):
    import cv2

    from videotools import write_video
    frames = [np.full((120, 160, 3), 40 + k, np.uint8) for k in range(50)]
    for f in frames:
        cv2.circle(f, (80, 60), 20, (200, 200, 200), -1)
    return write_video(tmp_path_factory.mktemp("tiny") / "tiny.mp4", frames, 25.0)


SESSION = ("session", "--joint", "neck-side-bend", "--subject", "P1")


@pytest.mark.parametrize("args,fragment", [
    (SESSION + ("--source", "{video}", "--phases", "before=0:1"), "no after phase"),
    (SESSION + ("--source", "{video}", "--phases", "before=0:1,after=1:10"), "goes past the end of the video at 0:02"),
    (SESSION + ("--source", "0", "--phases", "before=0:1,after=1:2"), "not a webcam"),
    (SESSION + ("--source", "{video}", "--phases", "before=0:1,after=1:2", "--realtime"), "leave out --realtime"),
    (SESSION + ("--source", "{video}", "--phases", "before=0:1,after=1:2", "--neutral", "5-6"),
     "starts after the end of the video"),
    (SESSION + ("--source", "{video}", "--phases", "before=0:1,after=1:2", "--neutral", "2:05"), "start-end"),
    (SESSION + ("--source", "{video}", "--neutral", "0-1"), "--neutral goes with --phases"),
    (SESSION + ("--source", "{video}", "--recorded-at", "2026-03-14"), "--recorded-at goes with --phases"),
    (SESSION + ("--source", "{video}", "--phases", "before=0:1,after=1:2", "--recorded-at", "last week"),
     "--recorded-at expects a date-time"),
    (("analyze", "{video}", "--joint", "neck-side-bend", "--neutral", "5-6"), "starts after the end of the video"),
    (("analyze", "{video}", "--joint", "neck-circles", "--neutral", "0-1"), "not used for neck circles"),
])
def test_recorded_visit_errors_are_one_line_before_any_work(args, fragment, two_second_video, tmp_path,
                                                            monkeypatch, capsys):
    from romcam.cli import main

    monkeypatch.setenv("ROMCAM_VERBOSE", "1")          # keep stderr where capsys sees it
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "v.sqlite3"
    argv = [a.format(video=two_second_video) for a in args]
    code = main(argv + (["--db", str(db)] if argv[0] == "session" else ["--out", str(tmp_path / "out")]))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("romcam: error:") and fragment in err[0], err
    assert not db.exists() and not (tmp_path / "out").exists()     # nothing made, nothing stored


@pytest.mark.slow
def test_recorded_visit_with_a_set_of_circles_finds_the_live_turns():
    from romcam.cli.demo import FPS, circles_stream
    from romcam.session.protocol import TurnDone

    stream = circles_stream(turns=10)
    config = ProtocolConfig(NECK, ("left", "right"), trials=3, set_kind="circles", target_turns=10)
    live_events = _run(SessionEngine(config), stream)
    starts = {e.phase: e.t for e in live_events if isinstance(e, PhaseStarted)}
    turns_live = [e.turn for e in live_events if isinstance(e, TurnDone)]
    # the phases as read off the video: before from the end of the hold, the set from its first
    # circle to its last, after from the first after trial
    set_end = turns_live[-1].end_s + 1.0
    spans = ph.parse_phases(f"before=4:{starts[Phase.SET]:.2f},set={starts[Phase.SET]:.2f}:{set_end:.2f},"
                            f"after={set_end + 9.0:.2f}:{stream[-1].t_s + 1 / FPS:.2f}")
    engine, stretch = _recorded(config, stream, spans)
    events = _run(engine, stream)
    turns = [e.turn for e in events if isinstance(e, TurnDone)]
    print(f"\ncircles: live {len(turns_live)} turns, recorded {len(turns)}; right extremes live "
          f"{[round(t.right_extreme_deg or 0, 2) for t in turns_live]}, recorded "
          f"{[round(t.right_extreme_deg or 0, 2) for t in turns]}")
    assert [t.direction for t in turns] == [t.direction for t in turns_live] and len(turns) == 10
    for a, b in zip(turns, turns_live):
        for side in ("right", "left"):
            assert a.extreme(side) == pytest.approx(b.extreme(side), abs=0.05)
    for phase in (Phase.BEFORE, Phase.AFTER):
        assert _peaks(events, TrialDone, phase) == pytest.approx(_peaks(live_events, TrialDone, phase), abs=0.05)
    assert next(e for e in events if isinstance(e, Finished)).complete
