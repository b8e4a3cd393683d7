import { packageVersion } from '../version.js';
import { cosineImprovement, gapTo, mseReduction, type Fidelity, type Gap } from './metrics.js';
import type { LatencyPoint, RankRunResult, TeacherResult } from './pipeline.js';

/**
 * The run as JSON: `distil_rank_summary.json` (every metric, per teacher, in the original
 * benchmark's structure: top-level `real_data`, `target_rank`, `input_dim` and `experiments` keyed
 * `Random`, `Task-Trained`, `Spectral` — or a trained layer's file stem — so that
 * `summary["experiments"]["Random"]["student_cosine"]` reads as before; protdistil's extra fields sit
 * beside them) and `distil_rank_details.json` (the long arrays: loss curves and spectra). Keys are
 * snake_case as in the original; `mse_reduction` is a percentage, cosines are means over validation
 * rows, `rel_mse` is MSE / mean(teacher output²).
 */

/** File names inside --out. */
export const SUMMARY_FILE = 'distil_rank_summary.json';
export const DETAILS_FILE = 'distil_rank_details.json';
export const REPORT_PNG = 'distil_rank_final_report.png';
export const REPORT_SVG = 'distil_rank_final_report.svg';
export const REPORT_MD = 'distil_rank_report.md';

/** Singular values kept in the summary (all of them go to the details file). */
export const SUMMARY_SPECTRUM_LENGTH = 200;

/** Batch size the headline latency and speedup are reported at. */
export const HEADLINE_BATCH = 32;

/** A label for the data that every output carries. */
export function dataLabel(r: RankRunResult): string {
  if (r.data.realData) return `real data (validation: ${r.data.validation === 'file' ? 'held-out file' : 'held-out split'})`;
  return `SYNTHETIC data (${String(r.data.synthetic?.generator ?? r.config.synthetic)} generator)`;
}

/** The headline latency point of a teacher. */
export function headline(t: TeacherResult): LatencyPoint {
  return t.latency.find((l) => l.batch === HEADLINE_BATCH) ?? (t.latency[0] as LatencyPoint);
}

const fid = (f: Fidelity): Record<string, number> => ({ cosine: f.cosine, mse: f.mse, rel_mse: f.relMse });
const gap = (g: Gap): Record<string, number> => ({ mse: g.mse, relative: g.relative, cosine: g.cosine });

/** The summary object of one teacher. */
export function teacherSummary(t: TeacherResult): Record<string, unknown> {
  const h = headline(t);
  return {
    teacher: t.id,
    source: t.source,
    ...(t.file === undefined ? {} : { file: t.file.path, ...(t.file.key === undefined ? {} : { layer_key: t.file.key }), bias: t.file.hasBias }),
    description: t.description,
    in_features: t.inFeatures,
    out_features: t.outFeatures,
    rank: t.rank,
    rank_source: t.rankSource,
    // The original benchmark's keys.
    svd_cosine: t.svd.val.cosine,
    svd_rel_mse: t.svd.val.relMse,
    student_cosine: t.student.val.cosine,
    student_rel_mse: t.student.val.relMse,
    cosine_improvement: cosineImprovement(t.student.val, t.svd.val),
    mse_reduction: mseReduction(t.student.val, t.svd.val),
    latency_teacher_ms: h.teacher.medianMs,
    latency_student_ms: h.student.medianMs,
    speedup: h.speedup,
    params_teacher: t.teacher.params,
    params_student: t.paramsStudent,
    compression: t.compression,
    // Closed form and the rest.
    svd_mse: t.svd.val.mse,
    student_mse: t.student.val.mse,
    closed_form_cosine: t.closedForm.val.cosine,
    closed_form_rel_mse: t.closedForm.val.relMse,
    closed_form_mse: t.closedForm.val.mse,
    closed_form_cosine_improvement: cosineImprovement(t.closedForm.val, t.svd.val),
    closed_form_mse_reduction: mseReduction(t.closedForm.val, t.svd.val),
    student_gap_to_closed_form: { val: gap(gapTo(t.student.val, t.closedForm.val)), train: gap(gapTo(t.student.train, t.closedForm.train)) },
    train_fidelity: { svd: fid(t.svd.train), closed_form: fid(t.closedForm.train), student: fid(t.student.train) },
    student_init: t.student.init,
    training_time_s: t.student.trainMs / 1000,
    training_compile_s: t.student.compileMs / 1000,
    training_steps: t.student.history.loss.length,
    final_loss: t.student.history.loss.at(-1) ?? null,
    teacher_build_time_s: t.teacher.buildMs / 1000,
    svd_time_s: t.svd.ms / 1000,
    closed_form_time_s: t.closedForm.ms / 1000,
    svd_method: t.svd.method,
    closed_form_method: t.closedForm.method,
    latency_batch: h.batch,
    latency: t.latency.map((l) => ({
      batch: l.batch,
      teacher_ms: l.teacher.medianMs,
      student_ms: l.student.medianMs,
      speedup: l.speedup,
      teacher_p10_ms: l.teacher.p10Ms,
      teacher_p90_ms: l.teacher.p90Ms,
      student_p10_ms: l.student.p10Ms,
      student_p90_ms: l.student.p90Ms,
      repeats: l.teacher.repeats,
    })),
    weight_spectrum: Array.from(t.svd.spectrum.subarray(0, SUMMARY_SPECTRUM_LENGTH)),
    weight_spectrum_length: t.svd.spectrum.length,
    weight_spectrum_floor: t.svd.floor,
    rank_sweep: t.sweep.map((p) => ({
      rank: p.rank,
      closed_form_cosine: p.closedForm.cosine,
      closed_form_rel_mse: p.closedForm.relMse,
      svd_cosine: p.svd.cosine,
      svd_rel_mse: p.svd.relMse,
    })),
    ...(t.targetCosine === undefined ? {} : { target_cosine: { target: t.targetCosine.target, rank: t.targetCosine.rank, closed_form_cosine: t.targetCosine.cosine } }),
    ...(t.cosineTargets === undefined
      ? {}
      : {
          cosine_targets: t.cosineTargets.map((p) => ({
            target: p.target,
            rank: p.rank,
            closed_form_cosine: p.cosine,
            params_student: p.params,
            compression: p.compression,
            speedup: p.speedup,
            latency_teacher_ms: p.teacherMs,
            latency_student_ms: p.studentMs,
            latency_batch: p.batch,
          })),
        }),
  };
}

/** `distil_rank_summary.json`. */
export function summaryJson(r: RankRunResult): Record<string, unknown> {
  const c = r.config;
  const ranks = new Set(r.teachers.map((t) => t.rank));
  const outDims = new Set(r.teachers.map((t) => t.outFeatures));
  return {
    benchmark: 'distil-rank',
    real_data: r.data.realData,
    synthetic_data: !r.data.realData,
    data_label: dataLabel(r),
    target_rank: ranks.size === 1 ? [...ranks][0] : null,
    input_dim: r.data.dim,
    // One width when every layer has it; each experiment has its own in_features / out_features.
    output_dim: outDims.size === 1 ? [...outDims][0] : null,
    data: {
      train: r.data.train,
      val: r.data.val,
      validation: r.data.validation,
      ...(r.data.valFraction === undefined ? {} : { val_fraction: r.data.valFraction }),
      ...(r.data.synthetic === undefined ? {} : { synthetic: r.data.synthetic }),
    },
    config: {
      rank: c.rank ?? null,
      target_cosine: c.targetCosine ?? null,
      steps: c.steps,
      batch_size: c.batchSize,
      lr: c.lr,
      weight_decay: c.weightDecay,
      cosine_weight: c.cosineWeight,
      schedule: c.schedule,
      init: c.init,
      teachers: r.teachers.filter((t) => t.source === 'built-in').map((t) => t.id),
      layers: r.teachers.flatMap((t) => (t.file === undefined ? [] : [t.file.path])),
      layer_key: c.layerKey ?? null,
      teacher_steps: c.teacherSteps,
      teacher_lr: c.teacherLr,
      teacher_batch_size: c.teacherBatchSize,
      teacher_noise: c.teacherNoise,
      sweep: c.sweep,
      solver: c.solver,
      seed: c.seed,
      latency_repeats: c.latencyRepeats,
      latency_warmup: c.latencyWarmup,
      latency_batches: c.latencyBatches,
      latency_note: 'ORT runs of the exported layers (weights as initializers); median per batch size; latency depends only on shapes, so each shape is measured once per run',
      threads: r.threads,
    },
    experiments: Object.fromEntries(r.teachers.map((t) => [t.experiment, teacherSummary(t)])),
    details_file: DETAILS_FILE,
    total_time_s: r.totalMs / 1000,
    protdistil_version: packageVersion(),
  };
}

/** `distil_rank_details.json`: full spectra and per-step curves. */
export function detailsJson(r: RankRunResult): Record<string, unknown> {
  return {
    benchmark: 'distil-rank',
    data_label: dataLabel(r),
    experiments: Object.fromEntries(
      r.teachers.map((t) => [
        t.experiment,
        {
          rank: t.rank,
          weight_spectrum: Array.from(t.svd.spectrum),
          weight_spectrum_floor: t.svd.floor,
          output_spectrum: Array.from(t.closedForm.energies, (e) => Math.sqrt(e)),
          student_loss: t.student.history.loss,
          student_mse: t.student.history.mse,
          student_cosine: t.student.history.cosine,
          teacher_loss: t.teacher.history,
        },
      ]),
    ),
  };
}
