"""Synthetic patients with known eye signs: scripted MaskParams truth, rendered clips."""

from .script import SIGNS, PatientScript, ScriptedPatient, expected_signs, script_patient

__all__ = ["SIGNS", "PatientScript", "ScriptedPatient", "expected_signs", "script_patient"]
