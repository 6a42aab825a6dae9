"""`romcam export --fhir`: the FHIR bundle is parsed back with the FHIR models of fhir.resources
(R4B, the FHIR library romcam uses) and gives the numbers stored in a real SQLite database."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pydantic
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.fhirresourcemodel import FHIRAbstractModel

from romcam.cli import main
from romcam.measure.outcome import side_outcome
from romcam.measure.edge import judge_set
from romcam.storage.fhir import ROMCAM_CODES, SNOMED, SUBJECT_SYSTEM, UCUM, validate_bundle
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store

QUANTITIES = ("before_deg", "after_deg", "delta_deg", "sem_deg", "mdc95_deg")
COUNTS = ("trials_before", "trials_after", "reps_done", "first_rep_at_after_level")


def _session(store, rng, subject, joint, side, days_ago, n_before, n_after, n_reps, finish=True,
             heel=False, knee_cm=None, **meta):
    """A session stored as the runner stores one: trials, reps, results (unless killed)."""
    started = (datetime.now().astimezone() - timedelta(days=days_ago)).replace(microsecond=0)
    sid = store.start_session(SessionMeta(subject, joint, side, started_at=started.isoformat(),
                              target_reps=n_reps or None, trials_per_phase=3, **meta))
    results = []
    for s in (["left", "right"] if side == "both" else [side]):
        before, after = rng.normal(35, 2, n_before).tolist(), rng.normal(40, 2, n_after).tolist()
        reps = rng.normal(38, 3, n_reps).tolist()
        judged = judge_set(reps, [5.0] * n_reps, float(np.median(before)) if before else 35.0, mdc95_deg=1.6, side=s)
        for k, p in enumerate(before, 1):
            store.add_trial(sid, "before", s, k, p, heel_lifted=(k == 1) if heel else None,
                            knee_over_toe_cm=None if knee_cm is None else knee_cm + k)
        for k, p in enumerate(reps, 1):
            store.add_rep(sid, s, k, p, heel_lifted=(k % 2 == 0) if heel else None,
                          edge=judged.reps[k - 1].as_dict())
        for k, p in enumerate(after, 1):
            store.add_trial(sid, "after", s, k, p, heel_lifted=False if heel else None,
                            knee_over_toe_cm=None if knee_cm is None else knee_cm + 2.5 + k)
        outcome = side_outcome(s, before, after, reps)
        results.append(outcome.with_set_edge(judged) if reps else outcome)
    if finish:
        store.finish_session(sid, "complete", results=results)
    return sid


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "clinic.sqlite3"
    rng = np.random.default_rng(13)
    with Store.open(path) as store:
        _session(store, rng, "Zoë-01", "neck_lateral_flexion", "both", 40, 3, 3, 6, synthetic=True)
        _session(store, rng, "P002", "ankle_dorsiflexion", "left", 10, 3, 3, 10, heel=True, knee_cm=4.0,
                 pose_model="full", camera="Logitech C920", camera_profile="c920-desk")
        _session(store, rng, "P002", "ankle_dorsiflexion", "right", 1, 3, 0, 4, finish=False)  # killed
        _session(store, rng, "P003", "knee_flexion", "left", 0, 1, 1, 0, pose_model="lite",   # no SEM
                 camera="/home/clinic/videos/Jane Doe knee.mp4")
    return path


def _codes_outside_their_value_sets(model: FHIRAbstractModel, where: str = "") -> list[str]:
    """Every coded element whose value is not in the codes fhir.resources lists for it (its
    models accept any code string there; the lists are the library's, not this test's)."""
    bad = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name, None)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        allowed = [v for v in extra.get("enum_values") or [] if v != "+"]
        if allowed and isinstance(value, str) and value not in allowed:
            bad.append(f"{where}.{name}={value!r}")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, FHIRAbstractModel):
                bad += _codes_outside_their_value_sets(item, f"{where}.{name}")
    return bad


def _empty_values(value, where: str = "") -> list[str]:
    """FHIR's JSON format has no empty arrays, objects or strings (the models accept them)."""
    if value in ([], {}, ""):
        return [where]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [w for k, v in items for w in _empty_values(v, f"{where}.{k}")]


def _parse(path) -> Bundle:
    """The written file through the FHIR models: structure, types, cardinalities, primitives'
    formats, and the codes of required bindings."""
    text = path.read_text(encoding="utf-8")
    assert _empty_values(json.loads(text)) == []
    bundle = Bundle.model_validate_json(text)
    assert _codes_outside_their_value_sets(bundle) == []
    return bundle


def _component(obs, code):
    (c,) = [c for c in obs.component if c.code.coding[0].system == ROMCAM_CODES
            and c.code.coding[0].code == code]
    return c


def test_bundle_validates_and_round_trips_the_stored_numbers(db, cli_env, tmp_path, capsys):
    out = tmp_path / "export" / "bundle.json"
    assert main(["export", "--fhir", str(out), "--db", str(db)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out}: FHIR R4 bundle, 5 observations (session x side), 3 patients" in said

    bundle = _parse(out)
    assert bundle.type == "collection"
    by_url = {e.fullUrl: e.resource for e in bundle.entry}
    assert all(url == f"urn:uuid:{r.id}" for url, r in by_url.items())
    observations = [r for r in by_url.values() if r.get_resource_type() == "Observation"]

    with Store.open(db, readonly=True) as store:
        details = {row.id: store.session(row.id) for row in store.sessions()}
    stored = {(sid, o.side): (d, o) for sid, d in details.items() for o in d.outcomes}
    number = {d.row.uuid: sid for sid, d in details.items()}
    got = {}
    for obs in observations:
        (ident,) = obs.identifier
        uuid, side = ident.value.split("/")
        got[(number[uuid], side)] = obs
    assert set(got) == set(stored)
    assert sum(bool(o.set_judged) for _, o in stored.values()) >= 3

    for key, obs in sorted(got.items()):
        detail, o = stored[key]
        row = detail.row
        patient = by_url[obs.subject.reference]
        assert patient.get_resource_type() == "Patient" and patient.name is None
        assert [(i.system, i.value) for i in patient.identifier] == [(SUBJECT_SYSTEM, row.subject)]
        assert obs.status == ("final" if row.status == "complete" else "preliminary")
        assert [(c.system, c.code) for c in obs.category[0].coding] == \
            [("http://terminology.hl7.org/CodeSystem/observation-category", "exam")]
        assert (obs.code.coding[0].system, obs.code.coding[0].code) == (SNOMED, "364564000")
        assert obs.code.coding[1].code == row.joint and key[1] in obs.code.text
        assert obs.effectivePeriod.start == datetime.fromisoformat(row.started_at)
        assert row.status_label in obs.note[0].text
        for name in QUANTITIES:
            c, stored_value = _component(obs, name), getattr(o, name)
            if stored_value is None:
                assert c.valueQuantity is None and c.dataAbsentReason is not None
            else:
                q = c.valueQuantity
                assert (q.system, q.code, q.unit) == (UCUM, "deg", "deg")
                assert q.value == Decimal(str(round(stored_value, 1))), (key, name)
        assert _component(obs, "verdict").valueString == o.verdict
        for name in COUNTS:
            value = getattr(o, name)
            matches = [c for c in obs.component if c.code.coding[0].code == name]
            assert [c.valueInteger for c in matches] == ([] if value is None else [value])
        if o.set_judged:             # the set against the edge of the range
            assert _component(obs, "set_grade").valueString == o.set_grade in ("I", "II", "III", "IV")
            assert [_component(obs, n).valueInteger for n in ("set_reached", "set_judged")] == \
                [o.set_reached, o.set_judged]
            for name in ("edge_start_deg", "edge_end_deg"):
                q = _component(obs, name).valueQuantity
                assert (q.code, q.value) == ("deg", Decimal(str(round(getattr(o, name), 1))))
        else:
            assert not [c for c in obs.component if c.code.coding[0].code.startswith(("set_", "edge_"))]
        interpretation = _component(obs, "delta_deg").interpretation
        expected = {"improved": "U", "decreased": "D"}.get(o.verdict.split()[0])
        assert (interpretation[0].coding[0].code if interpretation else None) == expected
        device = by_url[obs.device.reference]
        versions = {v.type.text: v.value for v in device.version}
        assert versions["romcam"] == detail.app_version
        assert versions.get("MediaPipe pose landmarker model") == detail.pose_model
        assert detail.pose_model is None or detail.pose_model in obs.method.text
        assert bool(obs.meta and obs.meta.security) == row.synthetic
        print(f"session {key[0]} {key[1]:<5} {row.joint:<20} {obs.status:<11} before "
              f"{_component(obs, 'before_deg').valueQuantity.value} deg, verdict {o.verdict!r}")

    ankle = got[(2, "left")]
    assert ankle.bodySite.coding[0].code == "70258002:272741003=7771000"     # ankle joint, left
    assert ankle.bodySite.text == "left ankle joint"
    assert _component(ankle, "heel_lifted").valueInteger == details[2].row.heel_lifted["left"] > 0
    for phase in ("before", "after"):         # the knee over toe: the CSV's medians, in UCUM cm
        q = _component(ankle, f"knee_over_toe_{phase}_cm").valueQuantity
        assert (q.system, q.code, q.unit) == (UCUM, "cm", "cm")
        assert q.value == Decimal(str(round(details[2].row.knee_over_toe_cm[("left", phase)], 1)))
    assert [q.value for q in (_component(ankle, f"knee_over_toe_{p}_cm").valueQuantity
                              for p in ("before", "after"))] == [Decimal("6.0"), Decimal("8.5")]
    assert not [c for c in got[(1, "right")].component if "knee_over_toe" in c.code.coding[0].code]
    props = {p.type.text: p.valueCode[0].text for p in by_url[ankle.device.reference].property}
    assert props == {"camera": "Logitech C920", "camera profile": "c920-desk"}
    assert "camera profile c920-desk" in ankle.method.text
    knee_device = by_url[got[(4, "left")].device.reference]
    assert knee_device.property[0].valueCode[0].text == "recorded video"
    assert "Jane" not in out.read_text(encoding="utf-8")             # a file name may name the person
    neck = got[(1, "right")]
    assert neck.bodySite.coding[0].code == "122494005" and "towards the person's right" in neck.code.text


def test_reexport_gives_the_same_ids_and_file(db, cli_env, tmp_path):
    full, again, one = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "p2.json"
    assert main(["export", "--fhir", str(full), "--db", str(db)]) == 0
    assert main(["export", "--fhir", str(again), "--db", str(db)]) == 0
    assert full.read_bytes() == again.read_bytes()
    assert main(["export", "--fhir", str(one), "--subject", "P002", "--db", str(db)]) == 0
    ids = {e.resource.id for e in _parse(full).entry}
    some = {e.resource.id for e in _parse(one).entry if e.resource.get_resource_type() != "Device"}
    assert some < ids


def test_a_copied_session_keeps_its_observation_ids_and_uuid(db, cli_env, tmp_path):
    """`db copy` may number the sessions differently; their Observations (ids, identifiers) and the
    CSV's session_uuid are those of the session, the same in both databases."""
    other = tmp_path / "clinic-server.sqlite3"
    with Store.open(other) as store:      # the target already holds a session: the copies get other numbers
        _session(store, np.random.default_rng(5), "P900", "knee_flexion", "left", 3, 2, 2, 0)
    assert main(["db", "copy", "--db", str(db), "--to", str(other)]) == 0
    observed = {}
    for name, path in (("home", db), ("server", other)):
        out = tmp_path / f"{name}.json"
        assert main(["export", "--fhir", str(out), "--db", str(path), "--subject", "P002"]) == 0
        observed[name] = {(e.resource.id, e.resource.identifier[0].value)
                          for e in _parse(out).entry if e.resource.get_resource_type() == "Observation"}
        assert main(["export", "--csv", str(tmp_path / f"{name}.csv"), "--db", str(path), "--subject", "P002"]) == 0
    assert len(observed["home"]) == 2 and observed["home"] == observed["server"]
    home, server = (pd.read_csv(tmp_path / f"{n}.csv", encoding="utf-8-sig") for n in ("home", "server"))
    assert list(home["session_id"]) != list(server["session_id"])
    assert list(home["session_uuid"]) == list(server["session_uuid"]) and home["session_uuid"].str.len().eq(36).all()


@pytest.mark.parametrize("filters", [["--subject", "P002"], ["--joint", "ankle"], ["--since", "{since}"]])
def test_filters_select_what_the_csv_selects(db, cli_env, tmp_path, filters):
    since = (datetime.now().astimezone() - timedelta(days=15)).date().isoformat()
    filters = [f.format(since=since) for f in filters]
    csv_path, fhir_path = tmp_path / "v.csv", tmp_path / "v.json"
    assert main(["export", "--csv", str(csv_path), "--fhir", str(fhir_path), *filters, "--db", str(db)]) == 0
    rows = pd.read_csv(csv_path)
    want = set(zip(rows["session_uuid"], rows["side"]))
    got = {tuple(e.resource.identifier[0].value.split("/")) for e in _parse(fhir_path).entry
           if e.resource.get_resource_type() == "Observation"}
    assert got == want and 0 < len(want) < 5


def test_the_validation_refuses_broken_bundles(db, cli_env, tmp_path):
    path = tmp_path / "ok.json"
    assert main(["export", "--fhir", str(path), "--db", str(db)]) == 0
    good = json.loads(path.read_text(encoding="utf-8"))
    obs = next(i for i, e in enumerate(good["entry"]) if e["resource"]["resourceType"] == "Observation")
    for _name, spoil in [
        ("no code", lambda r: r.pop("code")),
        ("value not a number", lambda r: r["component"][0]["valueQuantity"].update(value="35,2")),
        ("two values", lambda r: r["component"][0].update(valueString="35.2")),
        ("an element FHIR lacks", lambda r: r.update(laterality="left")),
        ("a date that is not one", lambda r: r["effectivePeriod"].update(start="2026-13-01")),
    ]:
        bad = copy.deepcopy(good)
        spoil(bad["entry"][obs]["resource"])
        with pytest.raises(pydantic.ValidationError):
            validate_bundle(bad)
    bad = copy.deepcopy(good)
    bad["entry"][obs]["resource"]["status"] = "done"       # a code outside its required value set
    assert _codes_outside_their_value_sets(Bundle.model_validate(bad)) == [".entry.resource.status='done'"]


def test_an_empty_database_gives_an_empty_valid_bundle(cli_env, tmp_path):
    with Store.open(tmp_path / "empty.sqlite3"):
        pass
    out = tmp_path / "empty.json"
    assert main(["export", "--fhir", str(out), "--db", str(tmp_path / "empty.sqlite3")]) == 0
    assert _parse(out).entry is None


@pytest.mark.parametrize("argv, message", [
    (["export"], "needs a file to write (give --csv FILE, --fhir FILE or both)"),
    (["export", "--fhir", "{tmp}/x.json", "--frames"], "--frames, --turns and --mot write files beside the CSV"),
    (["export", "--csv", "{tmp}/x.json", "--fhir", "{tmp}/x.json"], "is also a CSV file of this export"),
    (["export", "--csv", "{tmp}/x.csv", "--frames", "--fhir", "{tmp}/x_frames.csv"], "is also a CSV file"),
    (["export", "--fhir", "{tmp}/taken.json"], "already exists and romcam did not write it"),
    (["export", "--fhir", "{db}"], "is the session database itself"),
    (["export", "--fhir", "{tmp}/no/such/folder/x.json"], "does not exist"),
    (["export", "--fhir", "{tmp}/x.json", "--subject", "nobody"], "unknown subject 'nobody'"),
])
def test_cli_refuses_in_one_line_and_writes_nothing(db, cli_env, capsys, tmp_path, argv, message):
    (tmp_path / "taken.json").write_text("{}")
    argv = [a.format(tmp=tmp_path, db=db) for a in argv] + ["--db", str(db)]
    before = sorted(p.name for p in tmp_path.iterdir())
    db_bytes = db.read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("romcam: error: ") and err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert db.read_bytes() == db_bytes and (tmp_path / "taken.json").read_text() == "{}"


def test_observation_codes_are_snomed_and_romcams_without_pacios_loinc(db, cli_env, tmp_path):
    """The codings decided in docs/reference/exports.md ("LOINC and HL7's PACIO guide"): SNOMED CT's
    range of joint movement beside romcam's joint code; PACIO's LOINC 92850-7 / 92851-5 are CMS
    assessment items (a limitation of the whole upper / lower extremity over the assessment period,
    answered 0/1/2), not a joint's range in degrees, and are not used."""
    out = tmp_path / "bundle.json"
    assert main(["export", "--fhir", str(out), "--db", str(db)]) == 0
    bundle = _parse(out)
    observations = [e.resource for e in bundle.entry if e.resource.get_resource_type() == "Observation"]
    joints = set()
    for obs in observations:
        (snomed, romcam) = obs.code.coding
        assert (snomed.system, snomed.code) == (SNOMED, "364564000")
        assert romcam.system == ROMCAM_CODES
        joints.add(romcam.code)
    assert {"neck_lateral_flexion", "ankle_dorsiflexion"} <= joints
    text = out.read_text(encoding="utf-8")
    assert "loinc.org" not in text and "92850-7" not in text and "92851-5" not in text
