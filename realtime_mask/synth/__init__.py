"""Synthetic patients with known eye signs: scripted MaskParams truth, rendered clips."""

from .script import SIGNS, STRABISMUS, PatientScript, ScriptedPatient, expected_signs, script_patient

__all__ = ["SIGNS", "STRABISMUS", "PatientScript", "ScriptedPatient", "expected_signs", "script_patient"]
