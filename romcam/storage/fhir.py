"""FHIR export: the sessions as a FHIR R4 ``Bundle`` (type ``collection``) of JSON resources.

One ``Patient`` per subject (identified by its code only: no name, no birth date), one ``Device``
per measuring set-up (romcam version, pose model, camera, camera profile) and one
``Observation`` per session and side: the before, after and delta ranges, SEM and MDC95 as
components in UCUM ``deg``, the verdict, the trial and rep counts. Codes and their reasons are
in docs/reference/exports.md ("FHIR bundle"). Building is pure (:func:`build_bundle` takes the rows and
details read from the store and returns plain dicts); :func:`validate_bundle` checks the dicts
against the FHIR models of ``fhir.resources`` (R4B models: the resources used here are the same
in R4 4.0.1) and :func:`write_fhir` writes the JSON atomically.

Ids are deterministic: a UUID-5 of the database's path and the session, side, subject or device,
so exporting the same database again gives the same resource ids (and, with nothing changed,
the same file).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path, PurePath
from collections.abc import Iterable

from romcam.errors import RomcamError
from romcam.files import atomic_write_text, check_output, disk_error, same_file
from romcam.measure.joints import JOINTS
from romcam.storage.rows import SessionDetail, SessionRow
from romcam.storage.store import Store

SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
# romcam's own code system and identifier namespaces (no published CodeSystem resource).
ROMCAM_CODES = "urn:romcam:code"
SUBJECT_SYSTEM = "urn:romcam:subject"
OBSERVATION_SYSTEM = "urn:romcam:session-side"
DEG_DECIMALS = 1                     # as the CSV, the summary and the verdicts
CM_DECIMALS = 1                      # the knee over toe, as the CSV

RANGE_OF_JOINT_MOVEMENT = {"system": SNOMED, "code": "364564000",
                           "display": "Range of joint movement (observable entity)"}
LATERALITY_ATTRIBUTE = "272741003"   # SNOMED CT |Laterality|, for post-coordinated body sites
SIDES = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}
# SNOMED CT body structures of the measured joints (None: text only, no code checked).
BODY_SITES: dict[str, tuple[str | None, str]] = {
    "neck_lateral_flexion": ("122494005", "cervical spine"),
    "neck_rotation": ("122494005", "cervical spine"),
    "ankle_dorsiflexion": ("70258002", "ankle joint"),
    "knee_flexion": ("49076000", "knee joint"),
    "hip_flexion": ("24136001", "hip joint"),
    "elbow_flexion": ("16953009", "elbow joint"),
    "shoulder_flexion": (None, "shoulder joint"),
    "shoulder_abduction": (None, "shoulder joint"),
}

# (code, display) of the components, in this order; the unit says how the value is given.
QUANTITY_COMPONENTS = (
    ("before_deg", "Range before the set: median of the before trial peaks"),
    ("after_deg", "Range after the set: median of the after trial peaks"),
    ("delta_deg", "Change: after - before (positive = more range)"),
    ("sem_deg", "Standard error of measurement: pooled SD of the trial peaks"),
    ("mdc95_deg", "Minimal detectable change, 95 %: 1.96 x sqrt(2) x SEM"),
)
COUNT_COMPONENTS = (
    ("trials_before", "Before trials used"),
    ("trials_after", "After trials used"),
    ("reps_done", "Mobilisation reps counted on this side during the set"),
    ("first_rep_at_after_level", "First set rep whose peak reached the after value"),
    ("heel_lifted", "Trials and set reps with the heel lifted at the peak"),
    ("turns_done", "A set of neck circles: turns counted, both directions together"),
)
VERDICT_COMPONENT = ("verdict", "Verdict: the change against the MDC95")
# the set against the edge of the range (romcam.measure.edge), when it was judged
SET_COMPONENTS = (
    ("set_grade", "Maitland grade of the set (I-IV): the most common grade of its reps or turns"),
    ("set_reached", "Set reps or turns that reached the edge of the range"),
    ("set_judged", "Set reps or turns judged against the edge"),
    ("edge_start_deg", "Edge of the range at the start of the set"),
    ("edge_end_deg", "Edge of the range at the end of the set"),
)
# The ankle's knee-to-wall distance (knee over toe, cm), when a scale target gave it: (phase, code, display).
CM_COMPONENTS = (
    ("before", "knee_over_toe_before_cm", "Knee over toe before the set: median over the before trials of the "
                                          "knee's horizontal lead over the toe tip at the peak"),
    ("after", "knee_over_toe_after_cm", "Knee over toe after the set: the same over the after trials"),
)


def resource_id(db_key: str, *parts) -> str:
    """A deterministic id (UUID-5) for a resource of the database ``db_key``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "romcam:" + "|".join(map(str, (db_key, *parts)))))


def observation_id(key: str, row, side: str) -> str:
    """The id of a session's Observation for ``side``: from the session's UUID, so the same in every
    database the session is copied to (a session stored before UUIDs: from the database and number)."""
    if row.uuid:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"romcam:session:{row.uuid}|{side}"))
    return resource_id(key, "session", row.id, side)


def db_key(path: str | Path) -> str:
    """What ids are made from: the database's resolved path (a PostgreSQL server: its URL)."""
    if isinstance(path, str) and "://" in path:
        return path
    return str(Path(path).resolve())


def _ref(rid: str) -> dict:
    return {"reference": f"urn:uuid:{rid}"}


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _romcam_code(code: str, display: str) -> dict:
    return {"coding": [_coding(ROMCAM_CODES, code, display)], "text": display}


def _deg(value: float) -> dict:
    return {"value": round(float(value), DEG_DECIMALS) + 0.0, "unit": "deg", "system": UCUM, "code": "deg"}


def _cm(value: float) -> dict:
    return {"value": round(float(value), CM_DECIMALS) + 0.0, "unit": "cm", "system": UCUM, "code": "cm"}


def _absent(reason: str) -> dict:
    return {"dataAbsentReason": {"coding": [_coding(DATA_ABSENT, reason)]}}


# --------------------------------------------------------------------------- resources


def patient(key: str, code: str) -> dict:
    """The subject as a Patient: its code as the only identifier (no name: a pseudonym)."""
    return {"resourceType": "Patient", "id": resource_id(key, "subject", code),
            "identifier": [{"system": SUBJECT_SYSTEM, "value": code}]}


def camera_label(camera: str | None) -> str | None:
    """The camera as the bundle names it: a webcam ("webcam 0") or a synthetic stream as stored,
    a recorded video as "recorded video" (its file name may name the person: left out)."""
    if not camera:
        return None
    path = PurePath(camera)
    return "recorded video" if path.suffix or len(path.parts) > 1 else camera


def device_facts(detail: SessionDetail) -> dict:
    """What measured a session: romcam version, pose model, camera and camera profile."""
    return {"romcam": detail.app_version or "unknown", "pose_model": detail.pose_model,
            "camera": camera_label(detail.camera), "camera_profile": detail.camera_profile}


def device(key: str, facts: dict) -> dict:
    """The measuring set-up as a Device (software, model and camera it ran with)."""
    versions = [{"type": {"text": "romcam"}, "value": facts["romcam"]}]
    if facts["pose_model"]:
        versions.append({"type": {"text": "MediaPipe pose landmarker model"}, "value": facts["pose_model"]})
    properties = [{"type": {"text": label}, "valueCode": [{"text": str(facts[name])}]}
                  for name, label in (("camera", "camera"), ("camera_profile", "camera profile"))
                  if facts[name]]
    return {"resourceType": "Device", "id": resource_id(key, "device", *facts.values()),
            "deviceName": [{"name": "romcam", "type": "manufacturer-name"}],
            "type": {"text": "markerless video goniometry software (webcam + pose estimation)"},
            "version": versions, **({"property": properties} if properties else {})}


def _method_text(facts: dict, detail: SessionDetail) -> str:
    trials = detail.trials_per_phase
    model = (f"MediaPipe pose model {facts['pose_model']}" if facts["pose_model"]
             else "no pose model: ready-made landmarks")
    parts = [f"romcam {facts['romcam']}: range of motion from webcam video ({model}"]
    if facts["camera_profile"]:
        parts.append(f"camera profile {facts['camera_profile']}")
    return ("; ".join(parts) + f"); before and after = median of {trials or 'the'} maximal trial "
            f"peaks each; MDC95 = 1.96 x sqrt(2) x SEM")


def _code(joint: str, side: str) -> dict:
    j = JOINTS.get(joint)
    title = j.title if j else joint
    towards = f"towards the person's {side}" if j is not None and j.kind == "signed" else side
    return {"coding": [RANGE_OF_JOINT_MOVEMENT, _coding(ROMCAM_CODES, joint, title)],
            "text": f"{title} range of motion, {towards}"}


def _body_site(joint: str, side: str) -> dict | None:
    code, name = BODY_SITES.get(joint, (None, None))
    if name is None:
        return None
    j = JOINTS.get(joint)
    if j is not None and j.kind == "signed":           # the spine has no side; the movement does
        return {"coding": [_coding(SNOMED, code)], "text": name}
    lat_code, lat_name = SIDES[side]
    coding = [_coding(SNOMED, f"{code}:{LATERALITY_ATTRIBUTE}={lat_code}")] if code else []
    return {**({"coding": coding} if coding else {}), "text": f"{lat_name.lower()} {name}"}


def _interpretation(verdict: str) -> list[dict] | None:
    """A change beyond the MDC95 is HL7's "significant change up/down" (U/D)."""
    for word, code, display in (("improved", "U", "Significant change up"),
                                ("decreased", "D", "Significant change down")):
        if verdict.startswith(word):
            return [{"coding": [_coding(INTERPRETATION, code, display)], "text": verdict}]
    return None


def _set_components(outcome) -> list[dict]:
    """The set against the edge: its grade (a string), counts and the edge at start and end (deg)."""
    if not outcome.set_judged:
        return []
    out = []
    for name, display in SET_COMPONENTS:
        value = getattr(outcome, name)
        if value is None:
            continue
        kind = ("valueString", value) if name == "set_grade" else (
            ("valueInteger", int(value)) if name in ("set_reached", "set_judged") else ("valueQuantity", _deg(value)))
        out.append({"code": _romcam_code(name, display), kind[0]: kind[1]})
    return out


def _components(row: SessionRow, outcome) -> list[dict]:
    out = []
    for name, display in QUANTITY_COMPONENTS:
        value = getattr(outcome, name)
        missing = "not-performed" if name in ("before_deg", "after_deg") else "unknown"
        c = {"code": _romcam_code(name, display),
             **({"valueQuantity": _deg(value)} if value is not None else _absent(missing))}
        if name == "delta_deg" and _interpretation(outcome.verdict):
            c["interpretation"] = _interpretation(outcome.verdict)
        out.append(c)
    out.append({"code": _romcam_code(*VERDICT_COMPONENT), "valueString": outcome.verdict})
    counts = {**{name: getattr(outcome, name) for name, _ in COUNT_COMPONENTS[:4]},
              "heel_lifted": row.heel_lifted.get(outcome.side) if row.heel_lifted else None,
              "turns_done": row.turns_done}
    out += [{"code": _romcam_code(name, display), "valueInteger": int(counts[name])}
            for name, display in COUNT_COMPONENTS if counts[name] is not None]
    out += _set_components(outcome)
    knees = row.knee_over_toe_cm or {}
    out += [{"code": _romcam_code(name, display), "valueQuantity": _cm(knees[(outcome.side, phase)])}
            for phase, name, display in CM_COMPONENTS if knees.get((outcome.side, phase)) is not None]
    return out


def observation(key: str, detail: SessionDetail, outcome, patient_id: str, device_id: str) -> dict:
    """One session and side as an Observation (see the module notes)."""
    row = detail.row
    side = outcome.side
    period = {"start": row.started_at, **({"end": row.ended_at} if row.ended_at else {})}
    notes = [f"romcam session {row.id}, {row.status_label}"]
    if row.synthetic:
        notes.append("SYNTHETIC demo data, not a measurement of a person")
    site = _body_site(row.joint, side)
    return {   # elements in the order of the FHIR specification
        "resourceType": "Observation", "id": observation_id(key, row, side),
        **({"meta": {"security": [_coding(ACT_REASON, "HTEST", "test health data")]}}
           if row.synthetic else {}),
        "identifier": [{"system": OBSERVATION_SYSTEM, "value": f"{row.uuid or row.id}/{side}"}],
        "status": "final" if row.status == "complete" else "preliminary",
        "category": [{"coding": [_coding(OBSERVATION_CATEGORY, "exam", "Exam")]}],
        "code": _code(row.joint, side),
        "subject": _ref(patient_id),
        "effectivePeriod": period,
        "note": [{"text": text} for text in notes],
        **({"bodySite": site} if site else {}),
        "method": {"text": _method_text(device_facts(detail), detail)},
        "device": _ref(device_id),
        "component": _components(row, outcome),
    }


def build_bundle(details: Iterable[SessionDetail], key: str) -> dict:
    """The FHIR Bundle (plain dicts) of ``details``: Patients, Devices, then one Observation
    per session and side, in session order. Pure."""
    patients, devices, observations = {}, {}, []
    for detail in details:
        code = detail.row.subject
        patients.setdefault(code, patient(key, code))
        dev = device(key, device_facts(detail))
        devices.setdefault(dev["id"], dev)
        observations += [observation(key, detail, o, patients[code]["id"], dev["id"])
                         for o in detail.outcomes]
    resources = [patients[c] for c in sorted(patients)] + list(devices.values()) + observations
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    return {"resourceType": "Bundle", "id": resource_id(key, "bundle"), "type": "collection",
            **({"entry": entries} if entries else {})}     # FHIR's JSON has no empty arrays


# --------------------------------------------------------------------------- reading and writing


def fhir_bundle(store: Store, subject: str | None = None, joint: str | None = None,
                since=None) -> dict:
    """The bundle of the store's sessions (filtered as the CSV export)."""
    rows = store.sessions(subject=subject, joint=joint, since=since)
    return build_bundle((store.session(row.id) for row in rows), db_key(store.path))


def validate_bundle(bundle: dict):
    """The bundle parsed by fhir.resources' FHIR models (raises if it is not valid FHIR)."""
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(bundle)


def bundle_text(bundle: dict) -> str:
    """The bundle as JSON text (UTF-8, indented, keys in the order built)."""
    return json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"


def check_fhir_output(path: Path, db_path: Path | None = None, overwrite: bool = False,
                      others: Iterable[Path] = ()) -> Path:
    """Before anything is read: the FHIR file may be written (see romcam.files) and is none of
    the export's other files."""
    path = Path(path)
    for other in others:
        if Path(other).absolute() == path.absolute() or same_file(other, path):
            raise RomcamError(f"--fhir {path} is also a CSV file of this export (give the FHIR "
                              f"bundle its own name, e.g. {path.with_suffix('.json').name})")
    if db_path is not None and same_file(path, db_path):
        raise RomcamError(f"{path} is the session database itself (give another file name for --fhir)")
    return check_output(path, "--fhir", overwrite=overwrite,
                        inputs=[db_path] if db_path is not None else [])


def write_fhir(bundle: dict, path: Path) -> Path:
    """Validate ``bundle`` and write it as JSON at ``path`` atomically; returns ``path``."""
    validate_bundle(bundle)
    try:
        atomic_write_text(Path(path), bundle_text(bundle))
    except OSError as exc:
        raise disk_error(exc, path, "--fhir") from None
    return Path(path)
