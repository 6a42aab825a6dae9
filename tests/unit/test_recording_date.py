"""When a recorded visit was filmed (romcam/capture/recording_date.py): the container's creation
time, else the file's modification time less its duration, else what the user gives."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from conftest import media
from romcam.capture.recording_date import container_creation_time, parse_recorded_at, recording_start
from romcam.errors import RomcamError
from videotools import write_video


def test_the_creation_time_a_camera_wrote_is_used():
    clip = media("lunges_side.mp4")          # its MP4 header says 2024-03-14 00:52:41 UTC
    dated = recording_start(clip, 6.36)
    assert dated.source == "the video's creation time"
    assert dated.start == datetime(2024, 3, 14, 0, 52, 41, tzinfo=timezone.utc)
    assert dated.end(6.36) - dated.start == timedelta(seconds=6.36)


def test_without_a_creation_time_the_file_time_less_the_duration(tmp_path):
    clip = write_video(tmp_path / "plain.mp4", [np.zeros((64, 96, 3), np.uint8)] * 5, 25.0)
    assert container_creation_time(clip) is None        # OpenCV's writer stores none
    finished = datetime(2026, 3, 14, 10, 31, 3).astimezone()
    os.utime(clip, (finished.timestamp(), finished.timestamp()))
    dated = recording_start(clip, 63.0)
    assert dated.source == "the file's modification time less its duration"
    assert dated.start == finished - timedelta(seconds=63.0)


def test_what_the_user_gives_wins(tmp_path):
    clip = media("lunges_side.mp4")
    dated = recording_start(clip, 6.36, "2026-03-14T10:30")
    assert dated.source == "--recorded-at" and dated.start.isoformat().startswith("2026-03-14T10:30:00")
    assert parse_recorded_at("2026-03-14").hour == 0
    assert parse_recorded_at("2026-03-14T10:30+01:00").utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("text,fragment", [("yesterday", "expects a date-time"),
                                           ("14/03/2026", "expects a date-time"),
                                           ("2999-01-01", "in the future"),
                                           ("9999-12-31T23:59", "in the future"),
                                           ("0001-01-01", "out of range"),
                                           ("0001-01-01T00:00+05:00", "out of range"),
                                           ("1899-12-31", "out of range")])
def test_bad_recorded_at_is_refused(text, fragment):
    with pytest.raises(RomcamError, match=fragment):
        parse_recorded_at(text)


def test_an_unreadable_file_has_no_creation_time(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    assert container_creation_time(junk) is None


def test_the_range_of_recorded_at_is_what_a_stored_session_accepts():
    from romcam.capture.recording_date import EARLIEST_RECORDED_AT
    from romcam.storage.meta import YEARS

    assert EARLIEST_RECORDED_AT.year == YEARS[0]
    assert parse_recorded_at("1900-01-01").year == 1900
    with pytest.raises(RomcamError, match="from 1900-01-01 to today"):
        parse_recorded_at("0001-01-01")


@pytest.mark.parametrize("when,fragment", [(datetime(2099, 1, 1, 10, 0), "is in the future"),
                                           (datetime(1980, 1, 1, 0, 0), "is before 1995")])
def test_a_file_time_that_cannot_be_the_filming_is_refused(tmp_path, when, fragment):
    """No creation time, and a modification time in the future (a wrong clock) or before 1995
    (a copy that reset it): the date is asked for, not stored wrong."""
    clip = write_video(tmp_path / "plain.mp4", [np.zeros((64, 96, 3), np.uint8)] * 5, 25.0)
    os.utime(clip, (when.timestamp(), when.timestamp()))
    with pytest.raises(RomcamError, match=f"modification time \\({when:%Y-%m-%d %H:%M}\\) {fragment}.*--recorded-at"):
        recording_start(clip, 2.0)
    assert recording_start(clip, 2.0, "2026-03-14").source == "--recorded-at"


def test_a_file_time_a_few_minutes_ahead_is_a_clock_skew(tmp_path):
    clip = write_video(tmp_path / "plain.mp4", [np.zeros((64, 96, 3), np.uint8)] * 5, 25.0)
    ahead = datetime.now() + timedelta(minutes=3)
    os.utime(clip, (ahead.timestamp(), ahead.timestamp()))
    dated = recording_start(clip, 60.0)
    assert dated.source == "the file's modification time less its duration"
    assert abs((dated.start - (ahead.astimezone() - timedelta(seconds=60))).total_seconds()) < 1.0
