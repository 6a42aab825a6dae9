"""Reading a .mot file back in the tests: as written (header lines and a pandas table) and with
OpenSim's own readers (the `opensim` package: OpenSim 4's TimeSeriesTable and the legacy Storage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import opensim
import pandas as pd

opensim.Logger.setLevelString("error")


def read_mot(path: Path) -> tuple[list[str], pd.DataFrame]:
    """A .mot as written: its header lines (up to endheader) and its table (pandas, tab separated)."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    end = lines.index("endheader")
    table = pd.read_csv(path, sep="\t", skiprows=end + 1, keep_default_na=False, dtype=str)
    return lines[:end + 1], table


def opensim_table(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, dict]:
    """The file as OpenSim 4's TimeSeriesTable reads it: labels, times, values, header keys."""
    t = opensim.TimeSeriesTable(str(path))
    labels = list(t.getColumnLabels())
    values = np.array([t.getRowAtIndex(i).to_numpy() for i in range(t.getNumRows())]).reshape(-1, len(labels))
    meta = {k: t.getTableMetaDataAsString(k) for k in t.getTableMetaDataKeys()}
    return labels, np.array(t.getIndependentColumn()), values, meta


def opensim_storage(path: Path) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    """The file as OpenSim's legacy Storage reads it (the GUI's and the tools' loader)."""
    s = opensim.Storage(str(path))
    labels = [s.getColumnLabels().get(i) for i in range(s.getColumnLabels().getSize())]
    times = opensim.ArrayDouble()
    s.getTimeColumn(times)
    columns = {}
    for name in labels[1:]:
        d = opensim.ArrayDouble()
        s.getDataColumn(name, d)
        columns[name] = np.array([d.get(i) for i in range(d.getSize())])
    assert s.isInDegrees()
    return labels, np.array([times.get(i) for i in range(times.getSize())]), columns
