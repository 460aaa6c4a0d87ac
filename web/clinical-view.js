// Doctor-side clinical view (live eye-movement plots and readouts).
// Contract used by doctor.js: createClinicalView(container) -> { update(params), reset() }
// where params is MaskParams.to_dict() for one frame.
export function createClinicalView(container) {
  return { update(params) {}, reset() {} };
}
