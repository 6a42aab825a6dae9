"""Sounds for a set: a short tick per counted neck-circle turn or per set rep that reached the edge of
the range, and a different sound at the target, because the person's eyes are not on the screen.

Nothing here may ever block the live loop: a sound is a tiny WAV (written once to a temporary
folder) handed to the first audio player found on the system (``paplay``, ``aplay``, ``afplay``,
``pw-play``) as a **background process** that is never waited for (finished players are reaped
on the next call); without a player it is a terminal bell (``\\a``) written to stderr (one for a
tick, three for the target). ``quiet=True`` makes no sound at all (``romcam session --quiet``).
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

PLAYERS = (("paplay",), ("pw-play",), ("aplay", "-q"), ("afplay",))
RATE = 16000


def _tone_wav(path: Path, notes: list[tuple[float, float]], volume: float = 0.4) -> Path:
    """A mono 16-bit WAV of (frequency Hz, seconds) notes (0 Hz = silence), with soft edges."""
    frames = bytearray()
    for freq, seconds in notes:
        n = int(RATE * seconds)
        for i in range(n):
            edge = min(1.0, i / (0.005 * RATE), (n - i) / (0.005 * RATE))
            value = volume * edge * math.sin(2 * math.pi * freq * i / RATE) if freq else 0.0
            frames += struct.pack("<h", int(32767 * value))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return path


class Sounder:
    """``tick()`` per turn, ``target()`` when the target is reached; both return at once."""

    def __init__(self, quiet: bool = False, player: list[str] | None = None, stream=None):
        self.quiet = quiet
        self.stream = stream
        self.played: list[str] = []        # what was asked for (for the tests and the summary)
        self._procs: list[subprocess.Popen] = []
        self._files: dict[str, Path] = {}
        self.player = None if quiet else (player if player is not None else self._find_player())
        if self.player:                    # made now, so the loop never waits on writing them
            self._file("tick"), self._file("target")

    @staticmethod
    def _find_player() -> list[str] | None:
        if os.environ.get("ROMCAM_NO_AUDIO_PLAYER"):
            return None
        for cmd in PLAYERS:
            if shutil.which(cmd[0]):
                return list(cmd)
        return None

    def _file(self, name: str) -> Path:
        if name not in self._files:
            folder = Path(tempfile.mkdtemp(prefix="romcam-sounds-"))
            notes = [(1760.0, 0.05)] if name == "tick" else [(880.0, 0.12), (0.0, 0.04), (1175.0, 0.12),
                                                              (0.0, 0.04), (1568.0, 0.3)]
            self._files[name] = _tone_wav(folder / f"{name}.wav", notes)
        return self._files[name]

    def _play(self, name: str, bells: int) -> None:
        if self.quiet:
            return
        self.played.append(name)
        self._procs = [p for p in self._procs if p.poll() is None]   # reap finished players
        if self.player:
            try:
                self._procs.append(subprocess.Popen(self.player + [str(self._file(name))],
                                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                    stderr=subprocess.DEVNULL))
                return
            except OSError:
                self.player = None          # the player went away: fall back to the bell
        stream = self.stream or sys.stderr
        try:
            stream.write("\a" * bells)
            stream.flush()
        except (OSError, ValueError):
            pass

    def tick(self) -> None:
        self._play("tick", 1)

    def target(self) -> None:
        self._play("target", 3)
