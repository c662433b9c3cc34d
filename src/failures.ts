/**
 * Failure type names (ApplicationFailure `type`, or the error class name an activity throws) shared
 * with the Python trainer: both sides read src/failure-types.json. No imports beyond the JSON, so workflow
 * code can use it.
 */
import spec from './failure-types.json';

export type FailureType = keyof typeof spec.types;

/** FAILURE.DatasetError === 'DatasetError', and so on for every type in failure-types.json. */
export const FAILURE = Object.fromEntries(Object.keys(spec.types).map((k) => [k, k])) as { readonly [K in FailureType]: K };

/** Failure types that no retry can fix, per activity proxy (src/workflows/common.ts). */
export const NON_RETRYABLE = spec.non_retryable as { readonly [K in keyof typeof spec.non_retryable]: FailureType[] };
