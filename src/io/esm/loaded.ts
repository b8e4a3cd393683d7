import type { EsmConfig } from '../../models/esm/config.js';
import type { EsmModel } from '../../models/esm/model.js';

/** A model read from a checkpoint, with where it came from. */
export interface LoadedEsm {
  readonly model: EsmModel;
  readonly config: EsmConfig;
  readonly format: 'fair-esm' | 'hugging-face';
  /** The file or directory it was read from. */
  readonly path: string;
  /** Whether contact-regression weights were present (contact prediction works). */
  readonly hasContactHead: boolean;
  /** Things a user should know (e.g. no contact regression file), one sentence each. */
  readonly notes: readonly string[];
}
